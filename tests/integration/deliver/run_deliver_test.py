#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of vhostmail-lmtpd and vhostmail-deliver with a real MariaDB, lookupd for
Postfix's maps, and a real private Postfix delivering through lmtp: and through pipe(8).

usage: run_deliver_test.py LMTPD DELIVER LOOKUPD ADMIN SOURCE_DIR

Covers: the SPEC examples (catch-all, alias chain, domain alias) landing in the right Maildir
through lmtp:, and through a pipe(8) transport configured from postfix-snippets/master.cf.deliver;
one copy per mailbox for a multi-recipient message; over-quota mail refused (5.2.2), nothing
written; a vacation reply sent once, not twice, never to a list message; a domain filter changing
the message; a fallback command receiving the message with %u %d %f; the database down giving
4xx (LMTP) and exit 75 (pipe); durability: a delivery killed before the commit leaves nothing in
new/ and the retry delivers exactly once; a write failure (RLIMIT_FSIZE) is a temporary failure
with nothing left behind; the LMTP protocol details (pipelining, ORCPT, size, bad commands).
"""

import os
import pwd
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vhm_clients  # noqa: E402
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402


def count(mailbase, path):
    d = os.path.join(mailbase, path, "new")
    return len(os.listdir(d)) if os.path.isdir(d) else 0


def newest(mailbase, path):
    d = os.path.join(mailbase, path, "new")
    names = sorted(os.listdir(d), key=lambda n: os.stat(os.path.join(d, n)).st_mtime)
    with open(os.path.join(d, names[-1]), errors="replace") as f:
        return f.read()


wait_for = vhm_daemon.wait_for
message = vhm_postfix.make_message


def smtp_send(pf, sender, rcpts, msg):
    """Sends through the private Postfix's smtpd; returns {rcpt: code} of refused ones."""
    return pf.send(sender, rcpts, msg).refused()


SETUP_SQL = """
INSERT INTO domains (name) VALUES ('filter.example'), ('pipe.example');
INSERT INTO domains (name, fallback) VALUES ('cmd.example',
    '|/bin/sh -c ''tee "$1"; exec > "$1.fds"; ls /proc/$$/fd; id -un > "$1.user"'' sh
     {tmp}/cmd/out-%u-%d-%f');
UPDATE domains SET filter_command = '/bin/sed s/hello/FILTERED/' WHERE name = 'filter.example';
INSERT INTO addresses (domain_id, local_part, mailbox) SELECT id, 'ann', TRUE FROM domains
    WHERE name = 'filter.example';
INSERT INTO addresses (domain_id, local_part, mailbox) SELECT id, 'joe', TRUE FROM domains
    WHERE name = 'pipe.example';
INSERT INTO addresses (domain_id, local_part, mailbox, quota_bytes) SELECT id, 'small', TRUE, 3000
    FROM domains WHERE name = 'blobber.org';
INSERT INTO domains (name, filter_command) VALUES ('slow.example',
    '/bin/sh -c ''sleep 1; echo run >> {tmp}/cmd/slow-filter-runs; exec cat''');
INSERT INTO addresses (domain_id, local_part, mailbox)
    SELECT d.id, CONCAT('r', n.seq), TRUE FROM domains d JOIN seq_1_to_50 n
    WHERE d.name = 'slow.example';
INSERT INTO vacations (address_id, subject, body)
    SELECT a.id, 'Out of office', 'Vivita is away.' FROM addresses a JOIN domains d
    ON d.id = a.domain_id WHERE d.name = 'blobber.org' AND a.local_part = 'vivita';
"""


def pipe_snippet(source, deliver, config):
    with open(os.path.join(source, "postfix-snippets", "master.cf.deliver")) as f:
        lines = [ln for ln in f.read().splitlines() if ln and not ln.startswith("#")]
    text = "\n".join(lines).replace("/usr/lib/vhostmail/vhostmail-deliver",
                                    f"{deliver} -c {config}")
    return text.replace("user=vmail:vmail", "user=nobody:nogroup") + "\n"


def lmtp_protocol(sock_path, mailbase):
    s, reply = vhm_clients.lmtp_session(sock_path)
    check("LMTP greeting", reply()[0][:4], "220 ")
    s.sendall(b"HELO x\r\n")
    check("HELO refused", reply()[0][:3], "500")
    s.sendall(b"LHLO client\r\n")
    lhlo = reply()
    check("LHLO keywords", [k for k in ("PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE")
                            if any(k in ln for ln in lhlo)],
          ["PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "SIZE"])
    s.sendall(b"DATA\r\n")
    check("DATA without MAIL: 503", reply()[0][:3], "503")
    before = count(mailbase, "blobber.org/xandros/")
    # One pipelined batch: MAIL, three RCPTs (one unknown, one duplicate), DATA.
    s.sendall(b"MAIL FROM:<bob@remote.example> SIZE=100\r\n"
              b"RCPT TO:<xandros@blobber.org> ORCPT=rfc822;john@whopper.nu\r\n"
              b"RCPT TO:<nobody@blobber.org>\r\n"
              b"RCPT TO:<Xandros@blobber.org>\r\nDATA\r\n")
    got = [reply()[0][:9] for _ in range(5)]
    check("pipelined replies", got, ["250 2.1.0", "250 2.1.5", "550 5.1.1", "250 2.1.5",
                                     "354 Send "])
    s.sendall(b"Subject: lmtp\r\n\r\n..dotted\r\n.\r\n")
    got = [reply()[0][:9] for _ in range(2)]
    check("one reply per accepted RCPT after DATA", got, ["250 2.0.0", "250 2.0.0"])
    check("duplicate recipient: one copy", count(mailbase, "blobber.org/xandros/"), before + 1)
    text = newest(mailbase, "blobber.org/xandros/")
    check("dot-unstuffed, LF line ends", "\n.dotted\n" in text and "\r" not in text, True)
    check("X-Original-To from ORCPT", "X-Original-To: john@whopper.nu\n" in text, True)
    s.sendall(b"MAIL FROM:<a@b> SIZE=999999999999\r\n")
    check("SIZE over the limit: 552", reply()[0][:9], "552 5.3.4")
    s.sendall(b"NOOP " + b"x" * 5000 + b"\r\nNOOP\r\n")
    check("over-long line: 500 then the session goes on", [reply()[0][:3], reply()[0][:3]],
          ["500", "250"])
    s.sendall(b"QUIT\r\n")
    check("QUIT", reply()[0][:3], "221")
    s.close()


def through_postfix(pf, mailbase, tmp, sendmail_log, db):
    n = lambda p: count(mailbase, p)  # noqa: E731
    x0, v0 = n("blobber.org/xandros/"), n("blobber.org/vivita/")
    for rcpt in ("john@whopper.nu", "julian@lala.com"):
        refused = smtp_send(pf, "bob@remote.example", [rcpt], message("bob@remote.example",
                                                                     rcpt, "spec " + rcpt))
        check(f"smtp accepts {rcpt}", refused, {})
    check("catch-all and alias chain reach xandros (lmtp)",
          wait_for(lambda: n("blobber.org/xandros/") == x0 + 2), True)
    refused = smtp_send(pf, "bob@remote.example", ["vivita@mail.blobber.org"],
                        message("bob@remote.example", "vivita@mail.blobber.org", "domain alias"))
    check("domain alias accepted", refused, {})
    check("domain alias reaches vivita", wait_for(lambda: n("blobber.org/vivita/") == v0 + 1),
          True)
    refused = smtp_send(pf, "bob@remote.example", ["julian@blobber.org", "xandros@blobber.org"],
                        message("bob@remote.example", "xandros@blobber.org", "unknown"))
    check("unknown user rejected at RCPT", refused.get("julian@blobber.org"), 550)
    check("...the other recipient delivered", wait_for(lambda: n("blobber.org/xandros/") == x0 + 3),
          True)

    # Multi-recipient: one copy per mailbox (john@whopper.nu and xandros are the same mailbox).
    x1, v1 = n("blobber.org/xandros/"), n("blobber.org/vivita/")
    smtp_send(pf, "carol@remote.example",
              ["xandros@blobber.org", "vivita@blobber.org", "john@whopper.nu"],
              message("carol@remote.example", "vivita@blobber.org", "multi"))
    check("multi-recipient: one copy each",
          wait_for(lambda: n("blobber.org/xandros/") == x1 + 1 and
                   n("blobber.org/vivita/") == v1 + 1), True)

    # Vacation: vivita answered carol above (To: vivita). Once, not twice; never to a list.
    wait_for(lambda: os.path.exists(sendmail_log))
    smtp_send(pf, "carol@remote.example", ["vivita@blobber.org"],
              message("carol@remote.example", "vivita@blobber.org", "again"))
    smtp_send(pf, "list@remote.example", ["vivita@blobber.org"],
              message("list@remote.example", "vivita@blobber.org", "list mail",
                      extra="List-Id: <l.remote.example>\r\n"))
    check("vacation: messages delivered", wait_for(lambda: n("blobber.org/vivita/") == v1 + 3),
          True)
    with open(sendmail_log) as f:
        calls = f.read().splitlines()
    check("vacation: exactly one reply, to the envelope sender, from <>",
          calls, ["-i -f <> -- carol@remote.example"])
    with open(sendmail_log + ".msg") as f:
        reply = f.read()
    check("vacation reply headers", all(h in reply for h in (
        "Auto-Submitted: auto-replied", "Subject: Out of office", "In-Reply-To: <multi."
    )), True)
    # The recorded command line and message, handed to Postfix's real sendmail (as root, so
    # it may use the private instance's config directory): queued with the null sender.
    log_before = len(pf.log())
    real = subprocess.run(["/usr/sbin/sendmail", "-C", pf.conf] + calls[0].split(),
                          input=reply.encode(), capture_output=True, timeout=60)
    check("real sendmail accepts the reply command line",
          (real.returncode, b"fatal" in real.stderr), (0, False))
    check("real sendmail: queued from <> to the envelope sender", wait_for(
        lambda: re.search(r"qmgr\[\d+\]: (\w+): from=<>, size=\d+, nrcpt=1.*\n(?:.*\n)*?"
                          r".*\1: to=<carol@remote\.example>",
                          pf.log()[log_before:]) is not None), True)

    # Over quota: small@blobber.org holds 3000 bytes.
    s0 = n("blobber.org/small/")
    smtp_send(pf, "bob@remote.example", ["small@blobber.org"],
              message("bob@remote.example", "small@blobber.org", "fits"))
    check("under quota: delivered", wait_for(lambda: n("blobber.org/small/") == s0 + 1), True)
    smtp_send(pf, "bob@remote.example", ["small@blobber.org"],
              message("bob@remote.example", "small@blobber.org", "too big", "x" * 5000 + "\n"))
    # Temporary by default: Postfix accepted it, and a bounce may go to a forged sender.
    check("over quota: deferred with 4.2.2, not bounced",
          (wait_for(lambda: re.search(r"to=<small@blobber\.org>.*dsn=4\.2\.2, status=deferred",
                                      pf.log()) is not None),
           re.search(r"to=<small@blobber\.org>.*status=bounced", pf.log()) is None), (True, True))
    check("over quota: nothing written", n("blobber.org/small/"), s0 + 1)
    # The usage record the policy service reads on every host (lmtpd writes it in batches).
    usage_sql = ("SELECT messages FROM mailbox_usage u JOIN addresses a ON a.id = u.address_id"
                 " WHERE a.local_part = 'small' ORDER BY u.updated_at DESC LIMIT 1")
    check("over quota: the usage record holds the delivered message",
          wait_for(lambda: db.sql(usage_sql).strip() == str(s0 + 1), 10), True)

    # Filter and fallback command.
    smtp_send(pf, "bob@remote.example", ["ann@filter.example"],
              message("bob@remote.example", "ann@filter.example", "filter me"))
    check("filter: delivered", wait_for(lambda: n("filter.example/ann/") == 1), True)
    check("filter: message changed", "FILTERED" in newest(mailbase, "filter.example/ann/"), True)
    smtp_send(pf, "bob@remote.example", ["anyone@cmd.example"],
              message("bob@remote.example", "anyone@cmd.example", "to a command"))
    out = os.path.join(tmp, "cmd", "out-anyone-cmd.example-bob@remote.example")
    check("fallback command got the message with %u %d %f", wait_for(
        lambda: os.path.exists(out + ".user") and "to a command" in open(out).read()), True)
    # lmtpd holds database connections (sockets without close-on-exec in Connector/C): the
    # command sees none of them, and runs as the command user, not as lmtpd's.
    check("fallback command: no inherited descriptor", open(out + ".fds").read(), "0\n1\n2\n")
    check("fallback command: runs as deliver_command_user", open(out + ".user").read(),
          "daemon\n")

    # A slow filter (1 s) and 50 recipients in one transaction, with Postfix's
    # lmtp_data_done_timeout at 10 s: each reply leaves as soon as it is final and the filter
    # runs once, so Postfix never times out and delivers again.
    rcpts = [f"r{i}@slow.example" for i in range(1, 51)]
    check("slow filter: 50 recipients accepted", smtp_send(
        pf, "bob@remote.example", rcpts, message("bob@remote.example", rcpts[0], "fifty")), {})
    check("slow filter: all 50 delivered", wait_for(
        lambda: all(n(f"slow.example/r{i}/") >= 1 for i in range(1, 51)), 60), True)
    time.sleep(2)  # a second copy would come from a retry Postfix made at once
    check("slow filter: exactly one copy each",
          sorted({n(f"slow.example/r{i}/") for i in range(1, 51)}), [1])
    check("slow filter: one run for the transaction",
          open(os.path.join(tmp, "cmd", "slow-filter-runs")).read(), "run\n")
    check("slow filter: no data-done timeout at Postfix",
          re.search(r"timed out|timeout|delivered twice", pf.log()) is None, True)

    # The pipe(8) transport for pipe.example.
    smtp_send(pf, "bob@remote.example", ["joe@pipe.example"],
              message("bob@remote.example", "joe@pipe.example", "via pipe"))
    check("pipe transport delivers", wait_for(lambda: n("pipe.example/joe/") == 1), True)
    if n("pipe.example/joe/"):
        text = newest(mailbase, "pipe.example/joe/")
        check("pipe: Return-Path and Delivered-To",
              text.startswith("Return-Path: <bob@remote.example>\n") and
              "Delivered-To: joe@pipe.example\n" in text, True)
    check("pipe: relay=vhm-deliver, delivered", wait_for(
        lambda: "relay=vhm-deliver" in pf.log() and "status=sent (delivered via vhm-deliver"
        in pf.log()), True)


def run_deliver(deliver, config, sender, rcpt, body, env=None, limit_fsize=None):
    def setup():
        if limit_fsize:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_fsize, limit_fsize))
        nobody = pwd.getpwnam("nobody")
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)
    p = subprocess.run([deliver, "-c", config, "-f", sender, "--", rcpt], input=body.encode(),
                       capture_output=True, env=env or {}, preexec_fn=setup, timeout=60)
    return p.returncode, p.stdout.decode(errors="replace").strip()


def durability(deliver, config, mailbase):
    box = "blobber.org/xandros/"
    before = count(mailbase, box)
    body = "Subject: durable\n\nbody\n"
    for stage in ("tmp-written", "synced"):
        code, _ = run_deliver(deliver, config, "a@remote.example", "xandros@blobber.org", body,
                              env={"VHOSTMAIL_TEST_CRASH_AT": stage})
        check(f"killed at {stage}: not acknowledged (signal)", code, -9)
        check(f"killed at {stage}: nothing in new/", count(mailbase, box), before)
    code, out = run_deliver(deliver, config, "a@remote.example", "xandros@blobber.org", body)
    check("retry after the crashes: delivered once", (code, count(mailbase, box)),
          (0, before + 1))
    big = "Subject: big\n\n" + "y" * 20000 + "\n"
    code, out = run_deliver(deliver, config, "a@remote.example", "xandros@blobber.org", big,
                            limit_fsize=4096)
    check("RLIMIT_FSIZE: temporary failure", (code, out[:5]), (75, "4.3.0"))
    check("RLIMIT_FSIZE: nothing in new/", count(mailbase, box), before + 1)
    tmpdir = os.path.join(mailbase, box, "tmp")
    stale = [n for n in os.listdir(tmpdir) if not n.startswith("maildirsize")]
    check("RLIMIT_FSIZE: nothing left in tmp/ but the killed runs' files", len(stale) <= 2, True)
    code, out = run_deliver(deliver, config, "a@remote.example", "nobody@blobber.org", body)
    check("pipe: unknown user exit 67", (code, out[:5]), (67, "5.1.1"))
    code, out = run_deliver(deliver, config, "a@remote.example", "xandros@blobber.org",
                            "Delivered-To: xandros@blobber.org\n" + body)
    check("pipe: loop bounced 5.4.6", out[:5], "5.4.6")


def reply_outbox(db, sock_path, sendmail_log, lmtpd):
    """A vacation reply that sendmail does not take when its message is delivered waits in the
    outbox and is sent by lmtpd a moment later: not lost, not sent twice."""
    s, reply = vhm_clients.lmtp_session(sock_path)
    reply()
    s.sendall(b"LHLO client\r\nMAIL FROM:<flaky@remote.example>\r\n"
              b"RCPT TO:<vivita@blobber.org>\r\nDATA\r\n")
    [reply() for _ in range(4)]
    s.sendall(b"To: vivita@blobber.org\r\nSubject: are you there?\r\n\r\nx\r\n.\r\n")
    check("outbox: the message is delivered at once", reply()[0][:3], "250")
    s.close()
    check("outbox: the first attempt was refused and the reply queued",
          lmtpd.wait_for_log(r"auto-reply to <flaky@remote.example> not submitted .*queued",
                             timeout=10) is not None, True)
    check("outbox: lmtpd sends it a moment later",
          lmtpd.wait_for_log(r"outbox: auto-reply \d+ sent to <flaky@remote.example> after 2",
                             timeout=20) is not None, True)
    check("outbox: sendmail got it once", open(sendmail_log).read().count(
        "-i -f <> -- flaky@remote.example"), 1)
    check("outbox: empty again", db.sql("SELECT COUNT(*) FROM autoreply_outbox").strip(), "0")


def freshness_at_data(db, sock_path, mailbase):
    """The routing copy is proven current at MAIL, but the message may come minutes later: at
    DATA lmtpd asks again, and with the copy stale and the database hung it defers instead of
    routing by data it can no longer vouch for."""
    before = count(mailbase, "blobber.org/vivita/")
    s, reply = vhm_clients.lmtp_session(sock_path)
    reply()
    s.sendall(b"LHLO client\r\nMAIL FROM:<bob@remote.example>\r\n"
              b"RCPT TO:<vivita@blobber.org>\r\n")
    got = [reply()[0][:3] for _ in range(3)]
    db.pause()
    try:
        time.sleep(2.5)  # past lmtpd_max_staleness (1 s): the copy can no longer be proven
        s.sendall(b"DATA\r\n")
        reply()
        s.sendall(b"Subject: late\r\n\r\nx\r\n.\r\n")
        got.append(reply()[0][:9])
    finally:
        db.resume()
    s.close()
    check("freshness at DATA: accepted at RCPT, deferred at DATA with the copy stale",
          got, ["250", "250", "250", "451 4.3.0"])
    check("freshness at DATA: nothing delivered", count(mailbase, "blobber.org/vivita/"), before)


def transaction_time_limit(lmtpd, common, tmp, mailbase):
    """Recipients not started within lmtpd_transaction_time_limit are deferred (451 4.4.7), so
    Postfix never waits past its own lmtp_data_done_timeout on a transaction still running."""
    sock = os.path.join(tmp, "lmtp-limit.sock")
    config = (common.replace(f"lmtpd_listen = unix:{os.path.join(tmp, 'lmtp.sock')}",
                             f"lmtpd_listen = unix:{sock}") +
              "lmtpd_transaction_time_limit = 1s\n")
    r1, r2 = count(mailbase, "slow.example/r1/"), count(mailbase, "slow.example/r2/")
    with vhm_daemon.daemon(lmtpd, config, tmp, name="lmtpd-limit"):
        s, reply = vhm_clients.lmtp_session(sock)
        reply()
        s.sendall(b"LHLO client\r\n")
        reply()
        s.sendall(b"MAIL FROM:<bob@remote.example>\r\nRCPT TO:<r1@slow.example>\r\n"
                  b"RCPT TO:<r2@slow.example>\r\nDATA\r\n")
        [reply() for _ in range(4)]
        s.sendall(b"Subject: limit\r\n\r\nx\r\n.\r\n")
        got = [reply()[0][:9] for _ in range(2)]
        s.close()
    check("transaction time limit: the first recipient delivered, the next deferred 4.4.7",
          got, ["250 2.0.0", "451 4.4.7"])
    check("transaction time limit: nothing written for the deferred one",
          (count(mailbase, "slow.example/r1/") - r1, count(mailbase, "slow.example/r2/") - r2),
          (1, 0))


def relay_mode(deliver, tmp, common, sock_path, lmtpd, mailbase):
    """deliver_lmtp_relay: vhostmail-deliver hands the message to lmtpd (which writes it and
    answers per recipient); with lmtpd unreachable it delivers itself."""
    def config(relay):
        path = os.path.join(tmp, f"relay-{len(relay)}.cf")
        with open(path, "w") as f:
            f.write(common + f"deliver_lmtp_relay = {relay}\n")
        os.chmod(path, 0o644)
        return path
    relayed = config(f"unix:{sock_path}")
    x0 = count(mailbase, "blobber.org/xandros/")
    at = len(lmtpd.log())
    code, out = run_deliver(deliver, relayed, "a@remote.example", "xandros@blobber.org",
                            "Subject: relayed\n\nvia lmtpd\n")
    check("relay: delivered through lmtpd (exit 0)", (code, out), (0, ""))
    check("relay: lmtpd wrote it", "<xandros@blobber.org>" in lmtpd.log()[at:], True)
    check("relay: one copy", count(mailbase, "blobber.org/xandros/"), x0 + 1)
    code, out = run_deliver(deliver, relayed, "a@remote.example", "nobody@blobber.org",
                            "Subject: nobody\n\nx\n")
    check("relay: unknown user is exit 67 with lmtpd's 5.1.1", (code, out[:5]), (67, "5.1.1"))
    code, out = run_deliver(deliver, config(f"unix:{tmp}/no-such.sock"), "a@remote.example",
                            "xandros@blobber.org", "Subject: direct\n\nx\n")
    check("relay: lmtpd unreachable -> delivered directly", (code, out), (0, ""))
    check("relay: ...one more copy", count(mailbase, "blobber.org/xandros/"), x0 + 2)


def copy_behind(db, sock_path):
    """A mailbox created a moment ago (lookupd may already have let Postfix accept it) is known
    to lmtpd at once, although its in-memory copy is polled only every 250 ms."""
    db.sql("INSERT INTO addresses (domain_id, local_part, mailbox) SELECT id, 'newcomer', TRUE"
           " FROM domains WHERE name = 'blobber.org'")
    s, reply = vhm_clients.lmtp_session(sock_path)
    reply()
    s.sendall(b"LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<newcomer@blobber.org>\r\n")
    reply()
    reply()
    check("a mailbox created just now is accepted by lmtpd", reply()[0][:9], "250 2.1.5")
    s.close()


def database_down(db, deliver, config, sock_path):
    db.stop()
    code, out = run_deliver(deliver, config, "a@remote.example", "xandros@blobber.org",
                            "Subject: x\n\nx\n")
    check("DB down: pipe exit 75", (code, out[:5]), (75, "4.3.0"))
    time.sleep(1.5)  # lmtpd routes from its in-memory copy until lmtpd_max_staleness (1 s)
    s, reply = vhm_clients.lmtp_session(sock_path)
    reply()
    s.sendall(b"LHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<xandros@blobber.org>\r\n")
    reply()
    reply()
    check("DB down: LMTP 451 4.3.0 at RCPT", reply()[0][:9], "451 4.3.0")
    s.close()
    db.start()
    code, out = run_deliver(deliver, config, "a@remote.example", "xandros@blobber.org",
                            "Subject: x\n\nx\n")
    check("DB back: delivered", code, 0)


def main():
    lmtpd, deliver, lookupd, admin, source = sys.argv[1:6]
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-deliver-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        # pipe(8) runs the command as an unprivileged user who may not reach the build tree
        # (a clone inside a 0700 temp dir): run an installed copy, as a package would.
        installed = os.path.join(tmp, "vhostmail-deliver")
        shutil.copy2(deliver, installed)
        os.chmod(installed, 0o755)
        # ...with the direct delivery it execs, from the same directory.
        direct = os.path.join(tmp, "vhostmail-deliver-direct")
        shutil.copy2(os.path.join(os.path.dirname(deliver), "vhostmail-deliver-direct"), direct)
        os.chmod(direct, 0o755)
        deliver = installed
        nobody = pwd.getpwnam("nobody")
        mailbase = vhm_daemon.mail_base(tmp)
        os.chown(tmp, nobody.pw_uid, nobody.pw_gid)
        command_user = pwd.getpwnam("daemon")  # deliver_command_user: writes here
        os.mkdir(os.path.join(tmp, "cmd"), 0o755)
        os.chown(os.path.join(tmp, "cmd"), command_user.pw_uid, command_user.pw_gid)
        base = vhm_daemon.base_config(db, tmp)
        vhm_daemon.spec_database(admin, db, source)
        db.sql(SETUP_SQL.replace("{tmp}", tmp))
        sendmail = os.path.join(tmp, "fake-sendmail")
        sendmail_log = os.path.join(tmp, "sendmail.log")
        with open(sendmail, "w") as f:
            # Refuses the first reply to flaky@remote.example (as a full queue would).
            f.write(f'#!/bin/sh\ncase "$*" in *flaky@remote.example*)\n'
                    f'  [ -e {tmp}/flaky-once ] || {{ : > {tmp}/flaky-once; exit 75; }};;'
                    f'\nesac\necho "$@" >> {sendmail_log}\ncat >> {sendmail_log}.msg\n')
        os.chmod(sendmail, 0o755)
        sock_path = os.path.join(tmp, "lmtp.sock")
        common = (base + vhm_daemon.delivery_config(mailbase, sendmail, sock_path) +
                  # vhostmail-deliver runs as nobody here and may relay to lmtpd's socket.
                  "lmtpd_socket_mode = 0666\n"
                  # lmtpd starts as root and runs filters and commands as this user.
                  "deliver_command_user = daemon\n"
                  "lmtpd_autoreply_retry_interval = 1s\n")
        deliver_cf = os.path.join(tmp, "deliver.cf")
        with open(deliver_cf, "w") as f:
            f.write(common)
        os.chmod(deliver_cf, 0o644)
        tables = vhm_postfix.lookupd_tables(tmp)
        lookup_cf = base + tables.config()
        with vhm_daemon.daemon(lookupd, lookup_cf, tmp, name="lookupd") as lk, \
                vhm_daemon.daemon(lmtpd, common, tmp, name="lmtpd") as d:
            lk.wait_for_log("routing data loaded")
            lmtp_protocol(sock_path, mailbase)
            main_cf = (tables.snippet(source, "main.cf.lookup") +
                       f"virtual_transport = lmtp:unix:{sock_path}\n"
                       "transport_maps = inline:{ pipe.example=vhm-deliver: }\n"
                       "vhm-deliver_destination_recipient_limit = 1\n"
                       "lmtp_destination_recipient_limit = 50\n"
                       "lmtp_data_done_timeout = 10s\n")
            with vhm_postfix.private_postfix(tmp, main_cf_extra=main_cf,
                                             master_cf_extra=pipe_snippet(source, deliver,
                                                                          deliver_cf)) as pf:
                check("postconf -n is warning-free with the delivery snippets",
                      pf.postconf_warnings(), "")
                before = len(failures)
                through_postfix(pf, mailbase, tmp, sendmail_log, db)
                if len(failures) > before:
                    print("postfix log:\n" + pf.log()[-6000:])
            durability(deliver, deliver_cf, mailbase)
            relay_mode(deliver, tmp, common, sock_path, d, mailbase)
            transaction_time_limit(lmtpd, common, tmp, mailbase)
            freshness_at_data(db, sock_path, mailbase)
            reply_outbox(db, sock_path, sendmail_log, d)
            copy_behind(db, sock_path)
            database_down(db, deliver, deliver_cf, sock_path)
            check("lmtpd: no crash or sanitizer report",
                  "ERROR: " in d.log() or "runtime error" in d.log(), False)
            if failures:
                print("lmtpd log:\n" + d.log()[-5000:])
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
