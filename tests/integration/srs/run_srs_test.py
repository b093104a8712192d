#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of SRS (lookupd's srs_forward/srs_reverse, lmtpd's Return-Path, the admin
tool's "srs check") with a real MariaDB, Debian's postsrsd and a private Postfix.

usage: run_srs_test.py LOOKUPD LMTPD ADMIN SOURCE_DIR

Compatibility, through Postfix's own table client (postmap -q): two postsrsd are started
privately, one with our secret file, one with only its second (older) secret. Then:
  - lookupd writes, for every sender, the address postsrsd writes (SRS0; SRS1 for another
    forwarder's SRS0 or SRS1; case in the address kept);
  - each reverses the other's addresses; ours reverse what the old-secret postsrsd wrote;
    upper-cased addresses reverse too;
  - forged and expired addresses (made here with the secret, by the scheme) are refused by both;
  - senders in hosted domains and in the SRS domain are not rewritten (postsrsd does not know
    the hosted domains: it would);
  - "vhostmail srs check" says valid / forged with its exit status.
Through a private Postfix (main.cf.lookup + main.cf.srs, relayhost = a sink):
  - someone@sender.example to a hosted address that forwards off-site leaves with an SRS sender;
  - a bounce (null sender) to that SRS address arrives at someone@sender.example;
  - a forged SRS bounce is refused at RCPT (550);
  - mail from outside to a hosted mailbox has the original Return-Path in the Maildir;
  - a hosted user's own mail leaves with its own sender.
Exits 77 when MariaDB, Postfix or postsrsd is not installed.
"""

import base64
import glob
import grp
import hashlib
import hmac
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
import vhm_clients  # noqa: E402
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402
from smtp_sink import smtp_sink  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

POSTSRSD = "/usr/sbin/postsrsd"
SRS_DOMAIN = "bounces.example.net"
SECRETS = ["current secret", "older secret"]
SENDERS = ["user@example.com", "First.Last+tag@Example.ORG", "a=b@example.com",
           "someone@sub.sender.example",
           "SRS0=abcd=AB=example.com=user@other.org",         # another forwarder's: SRS1
           "SRS0+abcd=AB=example.com=user@other.org",
           "SRS1=zzzz=other.org==abcd=AB=example.com=user@third.org"]
BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def srs0(secret, local, domain, days_ago=0):
    """An SRS0 address made here by the scheme (docs/srs.md), with a timestamp days_ago."""
    day = (int(time.time()) // 86400 - days_ago) % 1024
    stamp = BASE32[day >> 5] + BASE32[day & 31]
    digest = hmac.new(secret.encode(), (stamp + domain + local).lower().encode(),
                      hashlib.sha1).digest()
    return f"SRS0={base64.b64encode(digest).decode()[:4]}={stamp}={domain}={local}@{SRS_DOMAIN}"


def free_port():
    return vhm_postfix.free_port()


class postsrsd:
    """A private postsrsd in the foreground on two loopback ports."""

    def __init__(self, secret_file, tmp, name):
        self.forward_port, self.reverse_port = free_port(), free_port()
        self.log = open(os.path.join(tmp, f"{name}.log"), "w")
        self.proc = subprocess.Popen(
            [POSTSRSD, f"-s{secret_file}", f"-d{SRS_DOMAIN}", "-l127.0.0.1",
             f"-f{self.forward_port}", f"-r{self.reverse_port}"],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.reverse_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("postsrsd did not start")

    def forward(self):
        return f"tcp:127.0.0.1:{self.forward_port}"

    def reverse(self):
        return f"tcp:127.0.0.1:{self.reverse_port}"

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


def secret_file(path, secrets):
    """A secret file as the package makes it: root, the daemons' group (here nobody's), 0640."""
    with open(path, "w") as f:
        f.write("".join(s + "\n" for s in secrets))
    os.chown(path, 0, grp.getgrnam("nogroup").gr_gid)
    os.chmod(path, 0o640)


def srs_config(path):
    return f"srs_domain = {SRS_DOMAIN}\nsrs_secret_file = {path}\n"


def q(conf, key, table):
    r = vhm_postfix.postmap_query(conf, key, table)
    return r.value if r.status == "found" else r.status


def compat_cases(conf, tables, same, old):
    ours_f, ours_r = tables.sm("srs_forward"), tables.sm("srs_reverse")
    for sender in SENDERS:
        mine = q(conf, sender, ours_f)
        theirs = q(conf, sender, same.forward())
        if mine != theirs:  # the day may have turned between the two
            mine, theirs = q(conf, sender, ours_f), q(conf, sender, same.forward())
        check(f"forward {sender}: the same as postsrsd's", mine, theirs)
        check(f"forward {sender}: an SRS address of ours",
              mine.startswith(("SRS0", "SRS1")) and mine.endswith("@" + SRS_DOMAIN), True)
        back = q(conf, mine, ours_r)
        check(f"reverse of ours for {sender}: the same as postsrsd's", back,
              q(conf, mine, same.reverse()))
        if not sender.startswith("SRS1"):
            check(f"reverse of ours for {sender}: the sender", back.lower(),
                  ("SRS0" + sender[4:] if sender.startswith("SRS0") else sender).lower())
        check(f"reverse of ours for {sender}, upper-cased", q(conf, mine.upper(), ours_r).lower(),
              back.lower())
        old_one = q(conf, sender, old.forward())
        check(f"what postsrsd wrote with the older secret for {sender} reverses here",
              q(conf, old_one, ours_r).lower(), back.lower())
    forged = srs0("not our secret", "user", "example.com")
    expired = srs0(SECRETS[0], "user", "example.com", days_ago=22)
    still = srs0(SECRETS[1], "user", "example.com", days_ago=21)
    for name, address, want in (("forged", forged, "notfound"), ("expired", expired, "notfound"),
                                ("21 days old, older secret", still, "user@example.com")):
        check(f"{name} SRS address: lookupd", q(conf, address, ours_r), want)
        check(f"{name} SRS address: postsrsd agrees", q(conf, address, same.reverse()),
              want if want != "notfound" else "notfound")
    for sender in ("xandros@blobber.org", "someone@mail.blobber.org", "x@" + SRS_DOMAIN):
        check(f"forward {sender}: not rewritten (ours)", q(conf, sender, ours_f), "notfound")
    check("reverse of an address that is not SRS: not found",
          q(conf, "xandros@blobber.org", ours_r), "notfound")
    check("reverse of a valid SRS address in another domain: not found",
          q(conf, srs0(SECRETS[0], "user", "example.com").replace(SRS_DOMAIN, "example.org"),
            ours_r), "notfound")


def admin_cases(admin, db, secret_path):
    opts = [f"srs_domain={SRS_DOMAIN}", f"srs_secret_file={secret_path}"]
    good = srs0(SECRETS[0], "user", "example.com")
    r = vhm_daemon.admin_tool(admin, db, "srs", "check", good, options=opts)
    check("srs check valid: exit 0, names the sender", (r.returncode, "<user@example.com>" in
                                                        r.stdout), (0, True))
    r = vhm_daemon.admin_tool(admin, db, "srs", "check", srs0("x", "user", "example.com"),
                              options=opts)
    check("srs check forged: exit 1, says so", (r.returncode, "hash invalid" in r.stdout),
          (1, True))
    r = vhm_daemon.admin_tool(admin, db, "--json", "srs", "check", "joe@remote.example",
                              options=opts)
    doc = json.loads(r.stdout or "{}")
    check("srs check --json of a sender: rewritten",
          (r.returncode, doc.get("srs"), str(doc.get("rewritten")).startswith("SRS0=")),
          (0, False, True))
    r = vhm_daemon.admin_tool(admin, db, "srs", "check", "a@b.example")
    check("srs check with SRS off: a clear error", (r.returncode, "srs_domain is empty" in
                                                    r.stderr), (1, True))


def unreadable_secret_cases(lookupd, lmtpd, base, tmp):
    """A secret file the daemons refuse (readable by every user): a temporary failure of what
    needs it, and nothing else."""
    bad = os.path.join(tmp, "open.secret")
    with open(bad, "w") as f:
        f.write("a secret\n")
    os.chmod(bad, 0o644)
    t = vhm_postfix.lookupd_tables(os.path.join(tmp, "bad"))
    os.makedirs(os.path.join(tmp, "bad"), exist_ok=True)
    os.chmod(os.path.join(tmp, "bad"), 0o755)
    conf = vhm_postfix.client_config_dir(tmp)
    with vhm_daemon.daemon(lookupd, base + srs_config(bad) + t.config(), tmp,
                           name="lookupd-bad-secret") as lk:
        lk.wait_for_log("routing data loaded")
        check("secret readable by all: lookupd starts and says why",
              "lets others read it" in lk.log(), True)
        check("...srs_forward and srs_reverse answer temporary failures",
              (q(conf, "joe@remote.example", t.sm("srs_forward")),
               q(conf, srs0(SECRETS[0], "user", "example.com"), t.sm("srs_reverse"))),
              ("temp", "temp"))
        check("...the other maps answer as ever", q(conf, "blobber.org", t.sm("domains")),
              "blobber.org")
    mailbase = vhm_daemon.mail_base(tmp, "mail-bad")
    sock = f"{tmp}/lmtp-bad.sock"
    cf = (base + srs_config(bad) + vhm_daemon.delivery_config(mailbase, "/bin/true", sock) +
          "lmtpd_socket_group =\nlmtpd_socket_mode = 0666\n")
    with vhm_daemon.daemon(lmtpd, cf, tmp, name="lmtpd-bad-secret") as lm:
        lm.wait_for_log("listening")
        s, reply = vhm_clients.lmtp_session(sock)
        reply()
        codes = []
        for line in ("LHLO test", f"MAIL FROM:<{srs0(SECRETS[0], 'user', 'example.com')}>",
                     "RCPT TO:<xandros@blobber.org>", "DATA"):
            s.sendall(line.encode() + b"\r\n")
            codes.append(reply()[-1][:3])
        s.sendall(b"Subject: x\r\n\r\nbody\r\n.\r\n")
        codes.append(reply()[-1][:1])
        s.close()
        check("secret unreadable: lmtpd defers mail from an SRS sender (not delivered with the"
              " SRS Return-Path)", codes, ["250", "250", "250", "354", "4"])


def maildir_message(mailbase, box, subject):
    for path in glob.glob(os.path.join(mailbase, box, "new", "*")):
        with open(path, "rb") as f:
            data = f.read()
        if f"Subject: {subject}".encode() in data:
            return data
    return None


def postfix_cases(pf, sink, mailbase):
    # Forwarded off-site: leaves with an SRS sender.
    msg = vhm_postfix.make_message("someone@sender.example", "fwd@blobber.org", "forwarded")
    r = pf.send("someone@sender.example", ["fwd@blobber.org"], msg)
    check("forwarded message accepted", r.data[0] if r.data else r.rcpt, 250)
    out = sink.wait_for(lambda m: b"Subject: forwarded" in m.data, timeout=30)
    check("the forward reached the sink", out is not None, True)
    srs_sender = out.sender if out else ""
    check("the forward's envelope sender is SRS", srs_sender.startswith("SRS0=") and
          srs_sender.endswith("@" + SRS_DOMAIN) and "=sender.example=someone@" in srs_sender, True)
    check("...to the forward's destination", out.recipients if out else [],
          ["friend@outside.example"])
    # The destination bounces it to the SRS address: the bounce finds the sender.
    bounce = vhm_postfix.make_message("MAILER-DAEMON@outside.example", srs_sender, "bounce back")
    r = pf.send("", [srs_sender], bounce)
    check("the bounce to the SRS address is accepted at RCPT", r.rcpt.get(srs_sender, (0,))[0],
          250)
    got = sink.wait_for(lambda m: b"Subject: bounce back" in m.data, timeout=30)
    check("the bounce arrives at the original sender",
          (got.sender, got.recipients) if got else None, ("", ["someone@sender.example"]))
    # A forged bounce: no backscatter, no relay.
    forged = srs0("guessed", "victim", "target.example")
    code, text = pf.rcpt("", forged)
    check("a forged SRS bounce is refused at RCPT", code, 550)
    # Local delivery: the Maildir shows the original Return-Path.
    msg = vhm_postfix.make_message("someone@sender.example", "xandros@blobber.org", "local one")
    r = pf.send("someone@sender.example", ["xandros@blobber.org"], msg)
    check("local message accepted", r.data[0] if r.data else r.rcpt, 250)
    data = None
    deadline = time.monotonic() + 30
    while data is None and time.monotonic() < deadline:
        data = maildir_message(mailbase, "blobber.org/xandros", "local one")
        time.sleep(0.2)
    check("local message delivered", data is not None, True)
    check("its Return-Path is the original sender",
          data.split(b"\n", 1)[0] if data else b"", b"Return-Path: <someone@sender.example>")
    check("Postfix had rewritten it (the queue's sender was SRS)",
          "from=<SRS0=" in pf.log() and "sender.example=someone@" + SRS_DOMAIN in pf.log(), True)
    # A hosted user's own mail keeps its sender.
    msg = vhm_postfix.make_message("xandros@blobber.org", "friend@outside.example", "own mail")
    r = pf.send("xandros@blobber.org", ["friend@outside.example"], msg)
    check("own mail accepted", r.data[0] if r.data else r.rcpt, 250)
    own = sink.wait_for(lambda m: b"Subject: own mail" in m.data, timeout=30)
    check("a hosted user's own mail is not rewritten", own.sender if own else None,
          "xandros@blobber.org")


def main():
    lookupd, lmtpd, admin, source = sys.argv[1:5]
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    if not os.access(POSTSRSD, os.X_OK):
        print("postsrsd not installed (apt-get install postsrsd)")
        return 77
    with tempfile.TemporaryDirectory(prefix="vhm-srs-") as tmp, \
            vhm_mariadb.private_mariadb() as db, smtp_sink() as sink:
        os.chmod(tmp, 0o755)
        base = vhm_daemon.base_config(db, tmp)
        vhm_daemon.spec_database(admin, db, source)
        for args in (("domain", "add", SRS_DOMAIN), ("address", "add", "fwd@blobber.org"),
                     ("address", "forward", "add", "fwd@blobber.org", "friend@outside.example")):
            r = vhm_daemon.admin_tool(admin, db, *args)
            check(" ".join(args), (r.returncode, r.stderr.strip()), (0, ""))
        ours = os.path.join(tmp, "srs.secret")
        secret_file(ours, SECRETS)
        older = os.path.join(tmp, "older.secret")
        secret_file(older, SECRETS[1:])
        same, old = postsrsd(ours, tmp, "postsrsd"), postsrsd(older, tmp, "postsrsd-old")
        try:
            conf = vhm_postfix.client_config_dir(tmp)
            tables = vhm_postfix.lookupd_tables(tmp)
            mailbase = vhm_daemon.mail_base(tmp)
            lmtp_sock = f"{tmp}/lmtp.sock"
            lmtpd_cf = (base + srs_config(ours) +
                        vhm_daemon.delivery_config(mailbase, "/bin/true", lmtp_sock) +
                        "lmtpd_socket_group =\nlmtpd_socket_mode = 0666\n")
            main_cf = (tables.snippet(source, "main.cf.lookup") +
                       tables.snippet(source, "main.cf.srs") +
                       f"virtual_transport = lmtp:unix:{lmtp_sock}\n"
                       f"relayhost = [127.0.0.1]:{sink.port}\n"
                       "mynetworks = 127.0.0.0/8\n"
                       "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n")
            with vhm_daemon.daemon(lookupd, base + srs_config(ours) + tables.config(), tmp,
                                   name="lookupd") as lk, \
                    vhm_daemon.daemon(lmtpd, lmtpd_cf, tmp, name="lmtpd") as lm:
                lk.wait_for_log("routing data loaded")
                compat_cases(conf, tables, same, old)
                admin_cases(admin, db, ours)
                unreadable_secret_cases(lookupd, lmtpd, base, tmp)
                with vhm_postfix.private_postfix(tmp, main_cf_extra=main_cf) as pf:
                    check("postconf -n is warning-free", pf.postconf_warnings(), "")
                    postfix_cases(pf, sink, mailbase)
                    if failures:
                        print("postfix log tail:\n" + pf.log()[-3000:])
                for d in (lk, lm):
                    check(f"{d.name}: no crash or sanitizer report",
                          "ERROR: " in d.log() or "runtime error" in d.log(), False)
        finally:
            same.stop()
            old.stop()
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
