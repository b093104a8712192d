#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of vhostmail-policyd with a real MariaDB and a real private Postfix.

usage: run_policyd_test.py POLICYD LOOKUPD AUTHD ADMIN SOURCE_DIR

Postfix's smtpd asks policyd (check_policy_service at RCPT and END-OF-MESSAGE) on a port-25
service and on a submission service whose logins go through vhostmail-authd; lookupd serves the
virtual maps. Driven over SMTP with smtplib: sender spoofing refused for a logged-in user and
allowed for a granted address, the N+1st message over a rate limit deferred (and only accepted
messages charged), greylisting deferring the first attempt and accepting after the delay, a
domain that refuses mail, a full mailbox (also through a catch-all, and by announced SIZE),
an unauthenticated sender in a hosted domain. Then, over the raw protocol: a second policyd
instance on the same database shares greylisting and rate state; malformed and oversized
requests; the database stopped (fault actions) and back; SIGHUP; SIGTERM.
"""

import os
import re
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vhm_clients  # noqa: E402
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

OUTSIDER = "friend@example.net"
# The second instance fails open where the first one's defaults fail closed.
FAIL_OPEN = "policyd_recipient_fault_action = dunno\n"


def notify_config(tmp):
    """policyd_limit_notify through a sendmail stand-in that records what it was given (run by
    the unprivileged daemon, so it writes into a directory anyone may write)."""
    spool = os.path.join(tmp, "notices")
    os.mkdir(spool)
    os.chmod(spool, 0o1777)
    fake = os.path.join(tmp, "fake-sendmail")
    with open(fake, "w") as f:
        f.write(f'#!/bin/sh\necho "$@" > {spool}/args\ncat > {spool}/message\n')
    os.chmod(fake, 0o755)
    return spool, f"policyd_limit_notify = yes\npolicyd_sendmail_command = {fake}\n"


def children(pid):
    """The processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            if ppid == pid:
                found.append(int(entry))
    return found


def policy_config(tmp, name, shard, extra=""):
    return (extra + f"policyd_mx_listen = unix:{tmp}/{name}-mx\n"
            f"policyd_submission_listen = unix:{tmp}/{name}-sub\n"
            "policyd_mx_checks = hosted_sender recipient rate_limit greylist\n"
            "policyd_submission_checks = sender_login recipient rate_limit\n"
            "policyd_greylist_delay = 2s\n"
            "policyd_greylist_auto_whitelist = 0\n"
            f"policyd_shard_id = {shard}\n")


def policy_client(path, timeout=10):
    return vhm_clients.policy_client(path, timeout, defaults={"sender": OUTSIDER})


def policy_snippet(source, name, tmp):
    """A postfix-snippets/ file with policyd's default sockets replaced by the test's."""
    with open(os.path.join(source, "postfix-snippets", name)) as f:
        text = f.read()
    return (text.replace("unix:private/vhostmail-policy-submission", f"unix:{tmp}/p1-sub")
            .replace("unix:private/vhostmail-policy", f"unix:{tmp}/p1-mx"))


def sql_setup(db):
    db.sql("""
INSERT INTO send_grants (address_id, domain_id, local_part)
  SELECT a.id, d.id, 'postmaster' FROM addresses a JOIN domains d ON d.id = a.domain_id
  WHERE d.name = 'blobber.org' AND a.local_part = 'xandros';
INSERT INTO send_limits (domain_id, address_id, budget, window_seconds, max_value)
  SELECT d.id, a.id, 'messages', 3600, 3 FROM addresses a JOIN domains d ON d.id = a.domain_id
  WHERE d.name = 'blobber.org' AND a.local_part = 'vivita';
INSERT INTO addresses (domain_id, local_part, password)
  SELECT domain_id, 'sharer', password FROM addresses WHERE local_part = 'xandros';
UPDATE domains SET accepts_mail = FALSE, reject_text = 'lala.com has moved to whopper.nu'
  WHERE name = 'lala.com';
INSERT INTO domains (name) VALUES ('full.test');
INSERT INTO addresses (domain_id, local_part, mailbox, quota_bytes)
  SELECT id, 'small', TRUE, 100000 FROM domains WHERE name = 'full.test';
INSERT INTO addresses (domain_id, local_part, mailbox, quota_messages)
  SELECT id, 'stuffed', TRUE, 5 FROM domains WHERE name = 'full.test';
UPDATE domains SET fallback = 'stuffed' WHERE name = 'full.test';
INSERT INTO mailbox_usage (address_id, node, bytes, messages)
  SELECT a.id, 'mx1', 90000, 10 FROM addresses a WHERE a.local_part = 'small';
INSERT INTO mailbox_usage (address_id, node, bytes, messages)
  SELECT a.id, 'mx1', 1000, 5 FROM addresses a WHERE a.local_part = 'stuffed';
""")


def submission_cases(pf, sub_port):
    xandros = ("xandros@blobber.org", "secret")
    msg = vhm_postfix.make_message("xandros@blobber.org", "vivita@blobber.org", "own")
    r = pf.send("xandros@blobber.org", ["vivita@blobber.org"], msg, port=sub_port, login=xandros)
    check("submission: own address accepted", r.rcpt["vivita@blobber.org"][0], 250)
    r = pf.send("xandros+lists@blobber.org", ["vivita@blobber.org"], msg, port=sub_port,
                login=xandros)
    check("submission: own +extension accepted", r.rcpt["vivita@blobber.org"][0], 250)
    r = pf.send("postmaster@blobber.org", ["vivita@blobber.org"], msg, port=sub_port,
                login=xandros)
    check("submission: granted address accepted", r.rcpt["vivita@blobber.org"][0], 250)
    r = pf.send("vivita@blobber.org", ["xandros@blobber.org"], msg, port=sub_port, login=xandros)
    code, text = r.rcpt["xandros@blobber.org"]
    check("submission: someone else's address refused (554)", code, 554)
    check("submission: refusal says why", "5.7.1" in text and
          "not owned by user xandros@blobber.org" in text, True)
    check("submission: refused message not sent", r.data, None)


def rate_cases(pf, sub_port, db, spool):
    vivita = ("vivita@blobber.org", "secret")
    msg = vhm_postfix.make_message("vivita@blobber.org", "xandros@blobber.org", "rate")
    # A refused attempt costs nothing: all its recipients rejected, no END-OF-MESSAGE.
    r = pf.send("vivita@blobber.org", ["someone@lala.com"], msg, port=sub_port, login=vivita)
    check("rate: a refused attempt is not charged", r.data, None)
    codes = []
    for _ in range(3):
        r = pf.send("vivita@blobber.org", ["xandros@blobber.org"], msg, port=sub_port,
                    login=vivita)
        codes.append((r.rcpt["xandros@blobber.org"][0], r.data and r.data[0]))
    check("rate: 3 messages within the limit accepted", codes, [(250, 250)] * 3)
    r = pf.send("vivita@blobber.org", ["xandros@blobber.org"], msg, port=sub_port, login=vivita)
    code, text = r.rcpt["xandros@blobber.org"]
    check("rate: the 4th message deferred (450)", code, 450)
    check("rate: 4.7.1 and when to retry", "4.7.1" in text and "try again in" in text and
          "3 messages per 1h" in text, True)
    time.sleep(0.6)  # one flush interval and more
    total = db.sql("SELECT SUM(n) FROM rate_counters WHERE counter_key = "
                   "'login:vivita@blobber.org:messages'").strip()
    check("rate: the database holds exactly the accepted messages", total, "3")
    vhm_daemon.wait_for(lambda: os.path.exists(f"{spool}/message"), 10)
    with open(f"{spool}/args") as f:
        args = f.read().split()
    check("rate: notice mailed to the postmaster, null sender",
          args, ["-i", "-f", "<>", "--", "postmaster@blobber.org"])
    with open(f"{spool}/message") as f:
        notice = f.read()
    check("rate: the notice names the login and the limit",
          "Subject: Sending limit reached by vivita@blobber.org" in notice and
          "3 messages per 1h" in notice, True)


def greylist_cases(pf):
    msg = vhm_postfix.make_message(OUTSIDER, "vivita@blobber.org", "grey")
    code, text = pf.rcpt(OUTSIDER, "vivita@blobber.org")
    check("greylist: first attempt deferred (450)", code, 450)
    check("greylist: 4.7.1 Greylisted", "4.7.1" in text and "Greylisted" in text, True)
    code, _ = pf.rcpt(OUTSIDER, "vivita@blobber.org")
    check("greylist: an early retry still deferred", code, 450)
    time.sleep(3.2)  # the delay (2 s), the flush that records the first sighting, 1 s clock steps
    r = pf.send(OUTSIDER, ["vivita@blobber.org"], msg)
    check("greylist: the retry after the delay accepted",
          (r.rcpt["vivita@blobber.org"][0], r.data and r.data[0]), (250, 250))
    code, _ = pf.rcpt(OUTSIDER, "vivita@blobber.org")
    check("greylist: and the triplet stays accepted", code, 250)


def recipient_cases(pf):
    code, text = pf.rcpt(OUTSIDER, "john@lala.com")
    check("recipient: a domain that refuses mail (554)", code, 554)
    check("recipient: with its own text", "lala.com has moved to whopper.nu" in text, True)
    code, text = pf.rcpt(OUTSIDER, "stuffed@full.test")
    check("recipient: a mailbox at its message quota refused (554 5.2.2)",
          (code, "5.2.2" in text and "Mailbox full" in text), (554, True))
    code, _ = pf.rcpt(OUTSIDER, "whoever@full.test")
    check("recipient: a catch-all reaching a full mailbox refused", code, 554)
    with vhm_postfix.smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=30) as s:
        s.ehlo("client.vhostmail.test")
        s.mail(OUTSIDER, ["SIZE=20000"])
        code, text = s.rcpt("small@full.test")
    check("recipient: announced SIZE over the byte quota refused", code, 554)
    with vhm_postfix.smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=30) as s:
        s.ehlo("client.vhostmail.test")
        s.mail(OUTSIDER, ["SIZE=5000"])
        code, text = s.rcpt("small@full.test")
    check("recipient: a SIZE that fits passes on (to greylisting)",
          (code, "Greylisted" in text.decode()), (450, True))
    code, text = pf.rcpt("xandros@blobber.org", "vivita@blobber.org")
    check("hosted_sender: unauthenticated mail claiming a hosted sender refused",
          (code, "must be sent with authentication" in text), (554, True))


def shared_state_cases(tmp):
    a = policy_client(f"{tmp}/p1-mx")
    b = policy_client(f"{tmp}/p2-mx")
    rcpt = "xandros@blobber.org"
    first = a.ask(sender="shared@example.org", recipient=rcpt, client_address="198.51.100.7")
    check("shared: instance 1 greylists a new triplet", first.startswith("DEFER_IF_PERMIT"), True)
    time.sleep(3.2)  # the delay (2 s), the flush that records the first sighting, 1 s clock steps
    second = b.ask(sender="shared@example.org", recipient=rcpt, client_address="198.51.100.9")
    check("shared: instance 2 accepts the retry from the same /24", second, "DUNNO")
    sa = policy_client(f"{tmp}/p1-sub")
    sb = policy_client(f"{tmp}/p2-sub")
    login = "sharer@blobber.org"  # under blobber.org's 'each' rule of 2 messages per hour
    r = sb.ask(sender=login, sasl_username=login, recipient="vivita@blobber.org")
    check("shared: instance 2 lets the login send before", r, "DUNNO")
    for i in range(2):
        r = sa.ask(protocol_state="END-OF-MESSAGE", sender=login, sasl_username=login,
                   recipient_count="1", size="100", instance=f"s{i}")
        check(f"shared: instance 1 charges message {i + 1}", r, "DUNNO")
    time.sleep(1.5)  # flushed by 1, and older than 2's refresh interval
    r = sb.ask(sender=login, sasl_username=login, recipient="vivita@blobber.org")
    check("shared: instance 2 sees instance 1's charges (limit 2/h)",
          r.startswith("DEFER_IF_PERMIT 4.7.1 Sending limit reached for sharer@blobber.org"),
          True)
    for c in (a, b, sa, sb):
        c.close()


def protocol_cases(tmp, d):
    c = policy_client(f"{tmp}/p1-mx")
    r = c.ask_raw("request=smtpd_access_policy\nthis line has no equals sign\n\n")
    check("malformed: answered DEFER_IF_PERMIT", r.startswith("action=DEFER_IF_PERMIT"), True)
    r = c.ask(protocol_state="DATA", recipient="nobody@example.com")
    check("malformed: the connection survives", r, "DUNNO")
    r = c.ask_raw("request=smtpd_access_policy\nccert_subject=" + "x" * 70000 + "\n\n")
    check("oversized: the connection is closed", r, None)
    check("oversized: logged", bool(d.wait_for_log("longer than 65536 bytes", timeout=5)), True)
    c.close()
    c = policy_client(f"{tmp}/p1-mx")
    r = c.ask(protocol_state="END-OF-MESSAGE", recipient="", recipient_count="2",
              sender=OUTSIDER)
    check("a request without a recipient is fine", r, "DUNNO")
    c.close()


def fault_cases(db, tmp, d):
    db.kill()
    time.sleep(1.5)
    c = policy_client(f"{tmp}/p1-sub")
    r = c.ask(sender="vivita@blobber.org", sasl_username="xandros@blobber.org",
              recipient="vivita@blobber.org")
    check("db down: sender_login answers its fault action (defer)",
          r.startswith("DEFER_IF_PERMIT 4.3.0"), True)
    m = policy_client(f"{tmp}/p1-mx")
    r = m.ask(sender=OUTSIDER, recipient="vivita@blobber.org", client_address="203.0.113.51")
    check("db down: recipient answers its fault action (defer)",
          r.startswith("DEFER_IF_PERMIT 4.3.0"), True)
    m2 = policy_client(f"{tmp}/p2-mx")
    r = m2.ask(sender="new@example.org", recipient="vivita@blobber.org",
               client_address="203.0.113.50")
    check("db down: fail-open instance: recipient and greylist answer DUNNO", r, "DUNNO")
    m2.close()
    check("db down: logged once per outage", d.log().count("cannot decide"), 1)
    db.start()
    ok = vhm_daemon.wait_for(lambda: policy_client(f"{tmp}/p1-sub").ask(
        sender="vivita@blobber.org", sasl_username="xandros@blobber.org",
        recipient="vivita@blobber.org").startswith("REJECT 5.7.1"), timeout=30)
    check("db back: normal answers without a restart", ok, True)
    check("db back: recovery logged", bool(d.wait_for_log("policy checks work again", 5)), True)
    c.close()
    m.close()


def idle_timeout(tmp, d, cfg_text):
    """After SIGHUP with policyd_idle_timeout = 1s, an idle connection is closed, while one in
    use is not."""
    d.write_config(cfg_text + "policyd_idle_timeout = 1s\n")
    at = d.log_size()
    d.hup()
    vhm_daemon.wait_for(lambda: "reload" in d.log()[at:], 5)
    busy, idle = policy_client(f"{tmp}/p2-mx"), policy_client(f"{tmp}/p2-mx")
    for _ in range(4):
        time.sleep(0.4)
        busy.ask(protocol_state="DATA")
    check("idle: a connection in use stays open", busy.ask(protocol_state="DATA"), "DUNNO")
    check("idle: an idle connection is closed after policyd_idle_timeout",
          idle.ask(protocol_state="DATA"), None)
    busy.close()
    idle.close()


def notify_needs_restart(d, cfg_text):
    """Notices turned on by a reload wait for a restart (the runner is forked only at start),
    and say so."""
    d.write_config(cfg_text + "policyd_limit_notify = yes\n")
    at = d.log_size()
    d.hup()
    vhm_daemon.wait_for(lambda: "reload" in d.log()[at:], 5)
    check("reload: policyd_limit_notify turned on asks for a restart",
          "policyd_limit_notify = yes takes effect when vhostmail-policyd is restarted"
          in d.log()[at:], True)
    check("reload: still no program runner", children(d.proc.pid), [])


def main():
    policyd, lookupd, authd, admin, source = sys.argv[1:6]
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-policyd-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        base = vhm_daemon.base_config(db, tmp)
        vhm_daemon.spec_database(admin, db, source)
        sql_setup(db)
        tables = vhm_postfix.lookupd_tables(tmp)
        spool, notify = notify_config(tmp)
        authd_cf = (base + f"authd_dovecot_listen = unix:{tmp}/auth\n"
                    "authd_allow_cleartext = yes\nauthd_hash_rounds = 5000\n")
        sub_port = vhm_postfix.free_port()
        main_cf = (tables.snippet(source, "main.cf.lookup") +
                   policy_snippet(source, "main.cf.policy", tmp) +
                   "virtual_transport = discard:\n"
                   "mynetworks = 192.0.2.1/32\n")  # the test's 127.0.0.1 is a stranger
        master_cf = policy_snippet(source, "master.cf.submission", tmp).replace(
            "submission inet n       -       y", f"127.0.0.1:{sub_port} inet n - n") + (
            # No TLS in the test (the snippet demands it) and a SASL socket of its own.
            "  -o smtpd_tls_security_level=none\n  -o smtpd_tls_auth_only=no\n"
            f"  -o smtpd_sasl_type=dovecot\n  -o smtpd_sasl_path={tmp}/auth\n")
        with vhm_daemon.daemon(lookupd, base + tables.config(), tmp, name="lookupd") as lk, \
                vhm_daemon.daemon(authd, authd_cf, tmp, name="authd"), \
                vhm_daemon.daemon(policyd, base + policy_config(tmp, "p1", "one", notify), tmp,
                                  name="policyd1") as d, \
                vhm_daemon.daemon(policyd, base + policy_config(tmp, "p2", "two", FAIL_OPEN), tmp,
                                  name="policyd2") as d2, \
                vhm_postfix.private_postfix(tmp, main_cf_extra=main_cf,
                                            master_cf_extra=master_cf) as pf:
            lk.wait_for_log("routing data loaded")
            d.wait_for_log("routing data loaded")
            d2.wait_for_log("routing data loaded")
            # The program runner (it keeps CAP_SETUID, CAP_SETGID, CAP_KILL) exists only where
            # notices are on.
            check("policyd_limit_notify = yes: one program runner", len(children(d.proc.pid)), 1)
            check("policyd_limit_notify = no: no program runner", children(d2.proc.pid), [])
            check("socket mode 0660", oct(os.stat(f"{tmp}/p1-mx").st_mode & 0o777), "0o660")
            check("postconf -n is warning-free", pf.postconf_warnings(), "")
            submission_cases(pf, sub_port)
            rate_cases(pf, sub_port, db, spool)
            recipient_cases(pf)
            greylist_cases(pf)
            db.sql("INSERT INTO send_limits (domain_id, budget, window_seconds, max_value)"
                   " SELECT id, 'messages', 3600, 2 FROM domains WHERE name = 'blobber.org'")
            time.sleep(1.0)  # the routing change reaches both instances
            shared_state_cases(tmp)
            protocol_cases(tmp, d)
            fault_cases(db, tmp, d)
            d.hup()
            check("SIGHUP: reloaded and still answering",
                  policy_client(f"{tmp}/p1-mx").ask(protocol_state="DATA"),
                  "DUNNO")
            check("SIGTERM: clean exit", d.terminate(), 0)
            check("SIGTERM: the database cost per request is logged",
                  bool(re.search(r"served \d+ requests with \d+ database statements", d.log())),
                  True)
            idle_timeout(tmp, d2, base + policy_config(tmp, "p2", "two", FAIL_OPEN))
            notify_needs_restart(d2, base + policy_config(tmp, "p2", "two", FAIL_OPEN))
            check("SIGTERM: second instance clean exit", d2.terminate(), 0)
            for name, daemon_log in (("policyd1", d.log()), ("policyd2", d2.log())):
                check(f"{name}: no crash or sanitizer report",
                      "ERROR: " in daemon_log or "runtime error" in daemon_log, False)
            if failures:
                print("policyd log:\n" + d.log()[-6000:])
                print("postfix log:\n" + pf.log()[-6000:])
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
