#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The vhostmail demo: docs/specification.md's examples through a real, private Postfix and every daemon.

usage: demo.py BUILD_DIR SOURCE_DIR

Starts a private MariaDB (temp dir, unix socket), applies the schema and creates docs/specification.md's
example data with the `vhostmail` admin tool, starts vhostmail-lookupd (Postfix's virtual maps),
vhostmail-lmtpd (virtual_transport), vhostmail-authd (SMTP AUTH), vhostmail-policyd (sending
rights on submission) and vhostmail-milter (From: check, DKIM signing), and a private Postfix
with an smtpd for mail from outside ("port 25") and a submission smtpd with SMTP AUTH. Then:
Postfix's postmap asks lookupd; docs/specification.md's examples are sent over SMTP and each is shown where it
landed (Maildir, Delivered-To) or why it was refused; a vacation set with the tool answers once;
a user logs in on the submission port and sends; a wrong password is refused; sending as one's
own address is accepted and as someone else's refused by policyd, with the reason; DKIM keys
made with the tool sign a logged-in user's message, whose signatures python3-dkim and OpenDKIM
verify, and a forged From: is refused by the milter; a forward leaves with an SRS sender, its
bounce finds the way back to the original sender, a forged one is refused, and local mail keeps
its original Return-Path; a change made
with the tool is served live; the database goes down and comes back. Everything started is
stopped. Every outcome is also checked: exit status 0 only when all were as expected.
"""

import base64
import email.parser
import grp
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration",
                                "milter"))
import dkim_verify  # noqa: E402
import vhm_check  # noqa: E402
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402

SPEC_DATA = [
    ("domain", "add", "blobber.org"),
    ("domain", "add", "mail.blobber.org", "fallback=@blobber.org"),
    ("domain", "add", "whopper.nu", "fallback=xandros@blobber.org"),
    ("domain", "add", "lala.com", "fallback=@whopper.nu"),
    ("address", "add", "xandros@blobber.org", "mailbox=yes", "full_name=Xandros Blob"),
    ("address", "add", "vivita@blobber.org", "mailbox=yes"),
    ("address", "add", "karl@blobber.org"),
    ("address", "forward", "add", "karl@blobber.org", "karl.vovianda@gmail.com"),
    ("address", "add", "postmaster@blobber.org"),
    ("address", "forward", "add", "postmaster@blobber.org", "postmaster@localhost"),
    # The SRS domain (docs/srs.md): bounces to rewritten senders come back to it.
    ("domain", "add", "bounces.blobber.org"),
]
SRS_DOMAIN = "bounces.blobber.org"
PASSWORD = "secret"
OUTSIDER = "bob@remote.example"

# (map, key, note, expected answer: a value, "notfound" or "temp")
LOOKUPS = [
    ("domains", "lala.com", "hosted domain", "lala.com"),
    ("domains", "example.com", "not hosted", "notfound"),
    ("aliases", "julian@lala.com", "@lala.com -> @whopper.nu, then its catch-all",
     "xandros@blobber.org"),
    ("aliases", "nobody@mail.blobber.org", "-> nobody@blobber.org, which does not exist",
     "notfound"),
    ("mailboxes", "Xandros+lists@Blobber.ORG", "upper case and +extension",
     "blobber.org/xandros/"),
    ("senders", "xandros@blobber.org", "the logins that may send as it", "xandros@blobber.org"),
]

# (recipient, expected RCPT code, where it should end up: a Maildir, "off-site" or None, note)
PORT25 = [
    ("john@whopper.nu", 250, "blobber.org/xandros/", "catch-all of whopper.nu"),
    ("julian@lala.com", 250, "blobber.org/xandros/", "@lala.com -> @whopper.nu -> catch-all"),
    ("vivita@mail.blobber.org", 250, "blobber.org/vivita/",
     "mail.blobber.org's catch-all @blobber.org"),
    ("xandros@blobber.org", 250, "blobber.org/xandros/", "a mailbox"),
    ("karl@blobber.org", 250, "off-site", "forwarded to karl.vovianda@gmail.com"),
    ("nobody@mail.blobber.org", 550, None, "-> nobody@blobber.org: unknown"),
    ("julian@blobber.org", 550, None, "no mailbox, no alias, no fallback"),
    ("someone@example.com", 554, None, "not hosted here: no relaying"),
]


def heading(text):
    print(f"\n== {text}", flush=True)


def fact(text):
    print(f"  {text}", flush=True)


def expect(what, got, want):
    """Records (and prints) only what did not go as expected; vhm_check sums it up."""
    if got != want:
        vhm_check.check(what, got, want)


class demo:
    """What the steps share: paths, the admin tool, the running daemons and Postfix."""

    def __init__(self, build, source, tmp, db):
        self.build, self.source, self.tmp, self.db = build, source, tmp, db
        self.admin = os.path.join(build, "daemons/admin/vhostmail")
        self.config_file = os.path.join(tmp, "vhostmail.cf")
        self.mailbase = vhm_daemon.mail_base(tmp)
        self.tables = vhm_postfix.lookupd_tables(tmp)
        self.lmtp_socket = os.path.join(tmp, "lmtp.sock")
        self.auth_socket = os.path.join(tmp, "auth")
        self.policy_socket = os.path.join(tmp, "policy-submission")
        self.milter_socket = os.path.join(tmp, "milter")
        self.submission_port = vhm_postfix.free_port()
        self.postmap_conf = vhm_postfix.client_config_dir(tmp)
        self.pf = self.lmtpd = self.authd = self.policyd = self.milter = None

    def binary(self, name):
        folder = {"lmtpd": "deliver"}.get(name, name)
        return os.path.join(self.build, "daemons", folder, f"vhostmail-{name}")

    def vhostmail(self, *args, stdin=None):
        shown = " ".join(args) + (" < password" if stdin else "")
        fact(f"$ vhostmail {shown}")
        p = subprocess.run([self.admin, "-c", self.config_file] + list(args), input=stdin,
                           text=True, capture_output=True)
        expect(f"vhostmail {shown}: exit status", (p.returncode, p.stderr.strip()), (0, ""))
        return p.stdout

    def config(self, sendmail):
        """The one vhostmail.cf of this host: every daemon and the tool read it."""
        return (vhm_daemon.base_config(self.db, self.tmp) +
                f"admin_migrations_directory = {self.source}/sql/migrations\n" +
                self.tables.config() +
                vhm_daemon.delivery_config(self.mailbase, sendmail, self.lmtp_socket) +
                f"authd_dovecot_listen = unix:{self.auth_socket}\n"
                # No TLS in the demo: Postfix does not flag the logins "secured".
                "authd_allow_cleartext = yes\n"
                # policyd guards the submission service only: port 25 stays as above.
                "policyd_mx_listen =\n"
                f"policyd_submission_listen = unix:{self.policy_socket}\n"
                f"milter_listen = unix:{self.milter_socket}\n"
                # The demo's keys: its own directory, readable by the group the daemons
                # drop to (nobody's).
                f"admin_dkim_key_directory = {self.tmp}/dkim\n"
                "admin_dkim_key_group = nogroup\n"
                # SRS for forwarded mail; the secret as the package keeps it, root and the
                # daemons' group (here nobody's), 0640.
                f"srs_domain = {SRS_DOMAIN}\n"
                f"srs_secret_file = {self.srs_secret()}\n")

    def srs_secret(self):
        path = os.path.join(self.tmp, "srs.secret")
        if not os.path.exists(path):
            with open(path, "w") as f:
                f.write(base64.b64encode(os.urandom(24)).decode() + "\n")
            os.chown(path, 0, grp.getgrnam("nogroup").gr_gid)
            os.chmod(path, 0o640)
        return path

    def main_cf(self):
        with open(os.path.join(self.source, "postfix-snippets", "master.cf.lmtp")) as f:
            lmtp = f.read().replace("lmtp:unix:private/vhm-lmtp", f"lmtp:unix:{self.lmtp_socket}")
        with open(os.path.join(self.source, "postfix-snippets", "main.cf.milter")) as f:
            milter = f.read().replace("unix:private/vhostmail-milter",
                                      f"unix:{self.milter_socket}")
        return (self.tables.snippet(self.source, "main.cf.lookup") + lmtp + milter +
                self.tables.snippet(self.source, "main.cf.srs") +
                "# The demo's client is on this host, a user's is not: no From: added for it.\n"
                "local_header_rewrite_clients =\n"
                "# The demo has no Internet: off-site mail waits in the queue.\n"
                "defer_transports = smtp\n")

    def master_cf(self):
        """The shipped submission entry, on a loopback port, without TLS (none in the demo)."""
        with open(os.path.join(self.source, "postfix-snippets", "master.cf.submission")) as f:
            entry = f.read()
        entry = (entry.replace("submission inet n       -       y",
                               f"127.0.0.1:{self.submission_port} inet n - n")
                 .replace("unix:private/vhostmail-policy-submission",
                          f"unix:{self.policy_socket}"))
        return (entry + "  -o smtpd_tls_security_level=none\n  -o smtpd_tls_auth_only=no\n"
                "  -o smtpd_sasl_type=dovecot\n"
                f"  -o smtpd_sasl_path={self.auth_socket}\n"
                f"  -o smtpd_milters=unix:{self.milter_socket}\n")

    def messages(self):
        """Every message in a new/ directory under the mail base: (Maildir, file, headers)."""
        found = []
        for root, dirs, files in os.walk(self.mailbase):
            dirs.sort()
            if os.path.basename(root) != "new":
                continue
            maildir = os.path.relpath(os.path.dirname(root), self.mailbase) + "/"
            for name in sorted(files):
                with open(os.path.join(root, name), "rb") as f:
                    headers = email.parser.BytesHeaderParser().parse(f)
                found.append((maildir, name, headers))
        return found

    def landed(self, subject, timeout=30):
        """The (Maildir, file, headers) of the messages with this subject, after waiting for
        at least one."""
        hits = []

        def look():
            hits[:] = [m for m in self.messages() if m[2].get("Subject") == subject]
            return bool(hits)
        vhm_daemon.wait_for(look, timeout)
        return hits


def show_lookups(d):
    heading("Postfix's own postmap -q asks lookupd (tcp_table; socketmap answers the same)")
    for m, key, note, want in LOOKUPS:
        r = vhm_postfix.postmap_query(d.postmap_conf, key, d.tables.tcp(m))
        got = r.value if r.status == "found" else r.status
        fact(f"{m:<9} {key:<27} -> {got:<22} # {note}")
        expect(f"postmap {m} {key}", got, want)
        s = vhm_postfix.postmap_query(d.postmap_conf, key, d.tables.sm(m))
        expect(f"socketmap {m} {key} answers as tcp", s.value if s.status == "found"
               else s.status, got)


def short(reply):
    code, text = reply
    return f"{code} {text.splitlines()[0] if text else ''}"


def port25(d):
    heading(f"Mail from outside to port 25 (smtpd on 127.0.0.1:{d.pf.smtp_port}), "
            f"from <{OUTSIDER}>")
    sent = []
    for rcpt, want, where, note in PORT25:
        subject = f"demo to {rcpt}"
        r = d.pf.send(OUTSIDER, [rcpt], vhm_postfix.make_message(OUTSIDER, rcpt, subject))
        reply = r.rcpt[rcpt]
        fact(f"RCPT TO:<{rcpt}>  ({note})")
        fact(f"    {short(reply)}" + (f"  / after DATA: {short(r.data)}" if r.data else ""))
        expect(f"port 25 RCPT {rcpt}", reply[0], want)
        if reply[0] == 250:
            expect(f"port 25 DATA {rcpt}", r.data and r.data[0], 250)
            sent.append((rcpt, subject, where))
    heading(f"Where the accepted mail landed (new/ of each Maildir under {d.mailbase})")
    for rcpt, subject, where in sent:
        if where == "off-site":
            continue
        hits = d.landed(subject)
        for maildir, name, h in hits:
            fact(f"{rcpt:<24} -> {maildir:<21} Delivered-To: {h.get('Delivered-To')}")
        expect(f"{rcpt} landed in", [m[0] for m in hits], [where])
    for rcpt, subject, where in sent:
        if where != "off-site":
            continue
        pattern = rf"to=<([^>]+)>, orig_to=<{re.escape(rcpt)}>.*status=(\w+) \(([^)]*)\)"
        m = vhm_daemon.wait_for(lambda: re.search(pattern, d.pf.log()), 30) and \
            re.search(pattern, d.pf.log())
        if m:
            fact(f"{rcpt:<24} -> {m.group(1)} (off-site, {m.group(2)}: {m.group(3)}; "
                 "no local copy)")
        expect(f"{rcpt} forwarded to", m and m.group(1), "karl.vovianda@gmail.com")
        expect(f"{rcpt}: no local copy", [x for x in d.messages()
                                          if x[2].get("Subject") == subject], [])


def srs(d):
    heading("SRS: forwarded mail leaves with a sender of ours, and its bounce finds the way back")
    pattern = (r"\]: ([0-9A-F]+): from=<(SRS0=[^>]+)>.*\n(?:.*\n)*?.*\]: \1: "
               r"to=<karl\.vovianda@gmail\.com>, orig_to=<karl@blobber\.org>")
    m = vhm_daemon.wait_for(lambda: re.search(pattern, d.pf.log()), 30) and \
        re.search(pattern, d.pf.log())
    srs_sender = m.group(2) if m else ""
    fact(f"{OUTSIDER} -> karl@blobber.org -> karl.vovianda@gmail.com leaves as")
    fact(f"    MAIL FROM:<{srs_sender}>")
    expect("the forward's envelope sender is an SRS address of ours",
           srs_sender.endswith("@" + SRS_DOMAIN) and "=remote.example=bob@" in srs_sender, True)
    out = d.vhostmail("srs", "check", srs_sender) if srs_sender else ""
    fact(out.strip())
    r = d.pf.send("", [srs_sender], vhm_postfix.make_message(
        "MAILER-DAEMON@gmail.com", srs_sender, "Undelivered Mail Returned to Sender"))
    fact(f"gmail's bounce: MAIL FROM:<> RCPT TO:<{srs_sender}>")
    fact(f"    {short(r.rcpt[srs_sender])}" + (f"  / after DATA: {short(r.data)}" if r.data
                                               else ""))
    expect("the bounce to the SRS address is accepted", r.rcpt[srs_sender][0], 250)
    back = rf"to=<{re.escape(OUTSIDER)}>, orig_to=<{re.escape(srs_sender)}>"
    ok = vhm_daemon.wait_for(lambda: re.search(back, d.pf.log()), 30)
    fact(f"    Postfix sends it on to <{OUTSIDER}> (orig_to the SRS address; off-site, so it "
         "waits in the queue here)")
    expect("the bounce goes back to the original sender", bool(ok), True)
    forged = srs_sender.replace("SRS0=", "SRS0=x", 1) if srs_sender else "SRS0=x@" + SRS_DOMAIN
    reply = d.pf.rcpt("", forged)
    fact(f"a forged bounce: RCPT TO:<{forged}>")
    fact(f"    {short(reply)}")
    expect("a forged SRS bounce is refused at RCPT", reply[0], 550)
    hits = d.landed("demo to xandros@blobber.org")
    rp = hits[0][2].get("Return-Path") if hits else None
    fact(f"mail from {OUTSIDER} to a mailbox here was rewritten too (Postfix does it in "
         f"cleanup); lmtpd gave it back: Return-Path: {rp}")
    expect("local mail keeps the original Return-Path", rp, f"<{OUTSIDER}>")


def maildirs(d):
    heading(f"Every Maildir under {d.mailbase}: the files in new/")
    for maildir, name, h in d.messages():
        fact(f"{maildir:<21} {name}")
        fact(f"{'':<21}   Delivered-To: {h.get('Delivered-To')}  Subject: {h.get('Subject')}")


def vacation(d):
    heading("Vacation: vivita is away (set with the tool); xandros writes to her on port 25")
    body = os.path.join(d.tmp, "away.txt")
    with open(body, "w") as f:
        f.write("I am away until Monday. Xandros handles urgent matters.\n")
    d.vhostmail("vacation", "set", "vivita@blobber.org", "--body-file", body,
                "subject=Away until Monday")
    # lmtpd routes from an in-memory copy of the routing data, current within 1 s (like
    # lookupd's): a change made with the tool reaches it within that bound.
    time.sleep(1.2)
    sender = "xandros@blobber.org"
    subject = "lunch on Friday?"
    r = d.pf.send(sender, ["vivita@blobber.org"],
                  vhm_postfix.make_message(sender, "vivita@blobber.org", subject))
    fact(f"MAIL FROM:<{sender}> RCPT TO:<vivita@blobber.org>: "
         f"{short(r.rcpt['vivita@blobber.org'])}; after DATA: {short(r.data) if r.data else '-'}")
    for maildir, name, h in d.landed(subject):
        fact(f"the message       -> {maildir:<21} Delivered-To: {h.get('Delivered-To')}")
    expect("vacation: message to vivita delivered", [m[0] for m in d.landed(subject)],
           ["blobber.org/vivita/"])
    replies = []

    def look():
        replies[:] = [m for m in d.messages()
                      if m[0] == "blobber.org/xandros/" and m[2].get("Auto-Submitted")]
        return bool(replies)
    vhm_daemon.wait_for(look)
    for maildir, name, h in replies:
        fact(f"the auto-reply    -> {maildir:<21} Delivered-To: {h.get('Delivered-To')}")
        for field in ("From", "To", "Subject", "Auto-Submitted", "In-Reply-To"):
            fact(f"    {field}: {h.get(field)}")
    expect("vacation: one auto-reply in xandros's Maildir", len(replies), 1)
    # lmtpd logs the reply once sendmail has exited, which can be after Postfix has already
    # delivered that reply: wait for the line rather than read the log once.
    try:
        line = d.lmtpd.wait_for_log(r"vacation vivita@blobber.org: auto-reply sent to <[^>]+>",
                                    timeout=10)
    except RuntimeError:
        line = None
    if line:
        fact(f"lmtpd: {line.group(0)}")
    expect("vacation: lmtpd logged the reply", bool(line), True)


def submission(d):
    port = d.submission_port
    heading(f"Submission (smtpd on 127.0.0.1:{port}, SMTP AUTH through vhostmail-authd; "
            "passwords set above with vhostmail address passwd --stdin)")
    code, text = d.pf.auth("PLAIN", "xandros@blobber.org", PASSWORD, port=port)
    fact(f"AUTH PLAIN xandros@blobber.org, right password: {code} {text}")
    expect("submission: right password", code, 235)
    code, text = d.pf.auth("LOGIN", "xandros@blobber.org", "guess", port=port)
    fact(f"AUTH LOGIN xandros@blobber.org, wrong password: {code} {text}")
    expect("submission: wrong password", code, 535)
    code, text = d.pf.auth("PLAIN", "karl@blobber.org", PASSWORD, port=port)
    fact(f"AUTH PLAIN karl@blobber.org (has no password): {code} {text}")
    expect("submission: address without password", code, 535)
    denied = re.findall(r"authentication failed: login=\S+ service=smtp reason=[^\n]*",
                        d.authd.log())
    for line in denied:
        fact(f"authd: {line}")
    expect("submission: authd logged both refusals", len(denied), 2)

    sender, rcpt, subject = "xandros@blobber.org", "vivita@blobber.org", "report attached"
    r = d.pf.send(sender, [rcpt], vhm_postfix.make_message(sender, rcpt, subject), port=port,
                  login=(sender, PASSWORD))
    fact(f"logged in as {sender}: MAIL FROM:<{sender}> RCPT TO:<{rcpt}>: "
         f"{short(r.rcpt[rcpt])}; after DATA: {short(r.data) if r.data else '-'}")
    hits = d.landed(subject)
    for maildir, name, h in hits:
        fact(f"the message       -> {maildir:<21} Delivered-To: {h.get('Delivered-To')}")
    expect("submission: message delivered", [m[0] for m in hits], ["blobber.org/vivita/"])
    again = vhm_daemon.wait_for(lambda: "<xandros@blobber.org> was already answered"
                                in d.lmtpd.log(), 10)
    if again:
        fact("no second auto-reply: vivita's vacation answers each sender once per interval")
    expect("vacation: no second reply to the same sender", again, True)
    code, text = d.pf.rcpt("xandros@blobber.org", "someone@example.com")
    fact(f"port 25 without login, relaying to someone@example.com: {code} {text}")
    expect("port 25: no relaying without login", code, 554)


def sending_rights(d):
    port = d.submission_port
    heading("Sending rights (vhostmail-policyd on the submission service): who may use which "
            "sender")
    login = ("xandros@blobber.org", PASSWORD)
    for sender, want, note in (
            ("xandros@blobber.org", 250, "its own address"),
            ("xandros+news@blobber.org", 250, "its own address with an extension; vivita's"
                                              " vacation counts it as xandros, who had his reply"),
            ("vivita@blobber.org", 554, "someone else's address")):
        r = d.pf.send(sender, ["vivita@blobber.org"],
                      vhm_postfix.make_message(sender, "vivita@blobber.org", f"as {sender}"),
                      port=port, login=login)
        reply = r.rcpt["vivita@blobber.org"]
        fact(f"logged in as xandros, MAIL FROM:<{sender}> ({note}): {short(reply)}")
        expect(f"sending as {sender}", reply[0], want)
    line = re.search(r"reject: RCPT from [^\n]*not owned by user[^\n]*", d.policyd.log())
    if line:
        fact(f"policyd: {line.group(0)}")
    expect("policyd logged the refusal", bool(line), True)


def dkim_signing(d):
    heading("DKIM (vhostmail-milter on the submission service): keys made with the tool, mail "
            "signed, verified by python3-dkim and OpenDKIM; a forged From: refused")
    for selector, alg in (("rsa1", "rsa"), ("ed1", "ed25519")):
        d.vhostmail("dkim", "keygen", "blobber.org", "--selector", selector, "--algorithm", alg)
        d.vhostmail("dkim", "activate", "blobber.org", selector)
    records = {}
    for line in d.vhostmail("dkim", "show", "blobber.org").splitlines():
        m = re.match(r'^(\S+)\. IN TXT (.*)$', line)
        if m:
            records[m.group(1)] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
            fact(f"publish: {line[:100]}{'...' if len(line) > 100 else ''}")
    time.sleep(1.0)  # the milter reads the new keys within its refresh interval
    sender, rcpt, subject = "xandros@blobber.org", "vivita@blobber.org", "signed minutes"
    r = d.pf.send(sender, [rcpt], vhm_postfix.make_message(sender, rcpt, subject),
                  port=d.submission_port, login=(sender, PASSWORD))
    fact(f"logged in as {sender}, From: {sender}: after DATA: {short(r.data) if r.data else '-'}")
    hits = d.landed(subject)
    expect("DKIM: the message delivered", [m[0] for m in hits], ["blobber.org/vivita/"])
    for maildir, name, h in hits:
        with open(os.path.join(d.mailbase, maildir, "new", name), "rb") as f:
            message = f.read()
        for sig in h.get_all("DKIM-Signature") or []:
            tags = dict(re.findall(r"(\w+)=([^;]*)", re.sub(r"\s+", "", sig)))
            fact(f"DKIM-Signature: a={tags.get('a')} d={tags.get('d')} s={tags.get('s')}"
                 f" h={tags.get('h')}")
        for name_, verify in (("python3-dkim", dkim_verify.verify_python),
                              ("opendkim -t", dkim_verify.verify_opendkim)):
            ok, detail = verify(message, records)
            for line in detail.splitlines():
                fact(line)
            expect(f"DKIM: {name_} verifies both signatures", ok, True)
    line = re.search(r"\S+: signed: [^\n]*", d.milter.log())
    if line:
        fact(f"milter: {line.group(0)}")
    forged = vhm_postfix.make_message("xandros@blobber.org", rcpt, "from the boss").replace(
        "From: <xandros@blobber.org>", "From: Vivita <vivita@blobber.org>")
    r = d.pf.send(sender, [rcpt], forged, port=d.submission_port, login=(sender, PASSWORD))
    fact(f"logged in as {sender}, From: Vivita <vivita@blobber.org>: after DATA: "
         f"{short(r.data) if r.data else '-'}")
    expect("DKIM: a forged From: refused with 550", (r.data or (0,))[0], 550)


def rcpt_until(d, rcpt, done, timeout):
    """Repeats RCPT TO:<rcpt> from outside until done(code) (or the deadline):
    (code, text, seconds taken)."""
    t0, got = time.monotonic(), []

    def poll():
        got[:] = d.pf.rcpt(OUTSIDER, rcpt)
        return done(got[0])
    vhm_daemon.wait_for(poll, timeout, 0.02)
    return got[0], got[1], time.monotonic() - t0


def live_change(d):
    heading("A mailbox added with the tool is served within lookupd's 1 s bound")
    d.vhostmail("address", "add", "julian@blobber.org", "mailbox=yes")
    code, text, took = rcpt_until(d, "julian@blobber.org", lambda c: c == 250, 10)
    fact(f"RCPT TO:<julian@blobber.org> after {took * 1000:.0f} ms: {code} {text}")
    expect("julian@blobber.org accepted after the change", code, 250)
    heading("vhostmail resolve explains a route")
    p = subprocess.run([d.admin, "-c", d.config_file, "resolve", "julian@lala.com"],
                       capture_output=True, text=True)
    for line in p.stdout.splitlines():
        fact(line)
    expect("vhostmail resolve", p.returncode, 0)


def database_down(d):
    heading("The database goes away: temporary failures, Postfix defers, nothing bounces")
    d.db.kill()
    code, text, took = rcpt_until(d, "john@whopper.nu", lambda c: c != 250, 10)
    fact(f"RCPT TO:<john@whopper.nu> after {took:.1f} s: {code} {text}")
    expect("database down: RCPT is a temporary failure", code // 100, 4)
    code, text = d.pf.auth("PLAIN", "xandros@blobber.org", PASSWORD, port=d.submission_port)
    fact(f"AUTH PLAIN on submission: {code} {text}")
    expect("database down: AUTH is a temporary failure", code // 100, 4)
    d.db.start()
    code, text, took = rcpt_until(d, "john@whopper.nu", lambda c: c == 250, 30)
    fact(f"database back; RCPT TO:<john@whopper.nu> after {took:.1f} s: {code} {text} "
         "(no daemon restarted)")
    expect("database back: RCPT accepted again", code, 250)


def main():
    build, source = sys.argv[1:3]
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-demo-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        d = demo(build, source, tmp, db)
        heading(f"A private MariaDB on {db.socket}; the schema and docs/specification.md's examples, "
                "made with the admin tool")
        # lmtpd runs unprivileged; Postfix's sendmail would refuse it the private config dir
        # (see vhm_postfix._SENDMAIL_SHIM), so auto-replies go to the private smtpd by SMTP.
        pf = vhm_postfix.private_postfix(tmp, main_cf_extra=d.main_cf(),
                                         master_cf_extra=d.master_cf())
        config = d.config(pf.sendmail_shim(os.path.join(tmp, "sendmail")))
        with open(d.config_file, "w") as f:
            f.write(config)
        d.vhostmail("db", "migrate")
        for command in SPEC_DATA:
            d.vhostmail(*command)
        for login in ("xandros@blobber.org", "vivita@blobber.org"):
            d.vhostmail("address", "passwd", login, "--stdin", stdin=PASSWORD + "\n")
        with vhm_daemon.daemon(d.binary("lookupd"), config, tmp, name="lookupd") as lookupd, \
                vhm_daemon.daemon(d.binary("lmtpd"), config, tmp, name="lmtpd") as lmtpd, \
                vhm_daemon.daemon(d.binary("authd"), config, tmp, name="authd") as authd, \
                vhm_daemon.daemon(d.binary("policyd"), config, tmp, name="policyd") as policyd, \
                vhm_daemon.daemon(d.binary("milter"), config, tmp, name="milter") as milter, \
                pf:
            d.pf, d.lmtpd, d.authd, d.policyd, d.milter = pf, lmtpd, authd, policyd, milter
            lookupd.wait_for_log("routing data loaded")
            heading("The daemons (one vhostmail.cf) and a private Postfix are up")
            ports = ", ".join(f"{m} {p}" for m, p in d.tables.ports.items())
            fact(f"vhostmail-lookupd  tcp_table ports {ports}; socketmap {d.tables.socket}")
            fact(f"vhostmail-lmtpd    LMTP on {d.lmtp_socket}, Maildirs under {d.mailbase}")
            fact(f"vhostmail-authd    Dovecot auth protocol on {d.auth_socket}")
            fact(f"vhostmail-policyd  policy service for submission on {d.policy_socket}")
            fact(f"vhostmail-milter   milter for submission and sendmail on {d.milter_socket}")
            fact(f"postfix            port 25 = 127.0.0.1:{pf.smtp_port}, submission = "
                 f"127.0.0.1:{d.submission_port}, config {pf.conf}")
            expect("postconf -n is warning-free", pf.postconf_warnings(), "")
            show_lookups(d)
            port25(d)
            vacation(d)
            submission(d)
            sending_rights(d)
            dkim_signing(d)
            srs(d)
            live_change(d)
            database_down(d)
            maildirs(d)
            heading("Stopping everything")
            pf.stop()
            for daemon in (milter, policyd, authd, lmtpd, lookupd):
                code = daemon.terminate()
                fact(f"vhostmail-{daemon.name} stopped on SIGTERM, exit status {code}")
                expect(f"{daemon.name} exit status", code, 0)
            fact("Postfix stopped; MariaDB and the temp dir go next")
        if vhm_check.failures:
            print("\n-- postfix log (end) --\n" + pf.log()[-4000:])
    heading("Demo done: everything it started is stopped")
    return vhm_check.verdict()


if __name__ == "__main__":
    sys.exit(main())
