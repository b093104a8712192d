#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of vhostmail-milter with a real MariaDB and a real private Postfix.

usage: run_milter_test.py MILTER AUTHD ADMIN SOURCE_DIR

Keys are made with `vhostmail dkim keygen` (RSA and Ed25519 for blobber.org) and activated; the
records come from `vhostmail dkim show`. Postfix's submission service (SMTP AUTH through
vhostmail-authd) has the milter as smtpd_milters, and non_smtpd_milters has it for mail injected
with sendmail; outgoing mail goes to a private SMTP sink, where what left is verified by two
DKIM implementations no one here wrote (python3-dkim and OpenDKIM's `opendkim -t`). Cases: a
logged-in user's own From signed twice (d=blobber.org, both selectors); a domain alias's From
signed with d=the alias; a foreign From, two From fields, a From with two mailboxes and no From
refused at end of data with 5.7.1 and the reason; from_any_in_domain (shared mailboxes); a
domain without a key passing unsigned with one log line; mail injected with sendmail signed;
a 30 MB message signed with the milter's RSS growing by a few MB at most; a key file readable
by others and the database stopped (451 4.3.0 for the From check; signing from the keys in
memory), then back.
"""

import contextlib
import os
import re
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import dkim_verify  # noqa: E402
import milter_keys  # noqa: E402
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_metrics  # noqa: E402
import vhm_postfix  # noqa: E402
from smtp_sink import smtp_sink  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

XANDROS = ("xandros@blobber.org", "secret")
OUTSIDE = "friend@example.net"


def make_keys(tool, db, tmp):
    """The keys of milter_keys, the key file's mode, and the records also under the alias."""
    records = milter_keys.make_keys(tool, db, tmp)
    st = os.stat(f"{tmp}/dkim/blobber.org.r1.key")
    check("key file: mode 0640, group nogroup", (oct(st.st_mode & 0o777), st.st_gid),
          ("0o640", 65534))
    check("dkim show: both keys under the domain and its alias", sorted(records),
          ["e1._domainkey.blobber.net", "e1._domainkey.blobber.org",
           "r1._domainkey.blobber.net", "r1._domainkey.blobber.org"])
    return records


def admin_cases(tool, db, tmp):
    """Domain administrators see their domains' records, never keys or other domains; check
    warns about domains without an active key once DKIM is in use."""
    db.sql("INSERT INTO domain_admins (address_id, domain_id) SELECT a.id, a.domain_id FROM"
           " addresses a JOIN domains d ON d.id = a.domain_id WHERE d.name = 'blobber.org' AND"
           " a.local_part = 'xandros'")
    as_admin = ("--as", "xandros@blobber.org", "--password-stdin")

    def run(*args):
        return milter_keys.admin(tool, db, tmp, *args, stdin="secret\n")
    r = run(*as_admin, "dkim", "show", "blobber.org")
    check("domain admin: dkim show of their domain", (r.returncode, "k=ed25519; p=" in r.stdout),
          (0, True))
    r = run(*as_admin, "dkim", "list")
    check("domain admin: dkim list shows their domain's keys only",
          (r.returncode, sorted({line.split()[0] for line in r.stdout.splitlines()[1:]})),
          (0, ["blobber.org"]))
    r = run(*as_admin, "dkim", "show", "lala.com")
    check("domain admin: another domain's records refused", r.returncode, 1)
    r = run(*as_admin, "dkim", "keygen", "blobber.org", "--selector", "mine")
    check("domain admin: keygen is the superadmin's", (r.returncode, "superadmin" in r.stderr),
          (1, True))
    r = run(*as_admin, "dkim", "retire", "blobber.org", "e1")
    check("domain admin: retire is the superadmin's", r.returncode, 1)
    check("domain admin: no key file named by any command",
          "BEGIN PRIVATE KEY" in run(*as_admin, "--json", "dkim", "show", "blobber.org").stdout,
          False)
    r = run("check")
    check("check: a domain without an active key is a warning",
          "warning: lala.com has no active DKIM key" in r.stdout, True)
    check("check: not for a domain with one",
          "warning: blobber.org has no active DKIM key" in r.stdout, False)
    # A domain's administrator may send as any of its addresses (the sender rule): the cases
    # after this one are about a plain user.
    db.sql("DELETE FROM domain_admins")


def message(sender_header, to, subject, body="Hello from the milter test.\r\n", extra=""):
    return (f"{sender_header}To: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}@client.vhostmail.test>\r\n"
            f"Date: Mon, 07 Dec 2026 10:00:00 +0000\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n{extra}\r\n{body}").encode()


def submit(pf, port, login, sender, msg):
    """The reply to DATA, or to AUTH when the login was refused (code, text); None when no
    recipient was accepted."""
    try:
        r = pf.send(sender, [OUTSIDE], msg, port=port, login=login)
    except smtplib.SMTPAuthenticationError as e:
        return e.smtp_code, e.smtp_error.decode(errors="replace")
    return r.data


def signatures(data):
    """(d, s, a) of each DKIM-Signature in a message."""
    out = []
    for m in re.finditer(rb"^DKIM-Signature:(.*?)\r\n(?![ \t])", data, re.M | re.S):
        tags = dict(re.findall(r"([a-z]+)=([^;]*)", re.sub(r"\s+", "", m.group(1).decode())))
        out.append((tags.get("d"), tags.get("s"), tags.get("a")))
    return sorted(out)


def verified(data, records):
    py, py_detail = dkim_verify.verify_python(data, records)
    od, od_detail = dkim_verify.verify_opendkim(data, records)
    return py, od, py_detail + " / " + od_detail


def signing_cases(pf, port, sink, records, milter):
    msg = message("From: Xandros Blob <xandros@blobber.org>\r\n", OUTSIDE, "own from")
    check("own From: accepted", (submit(pf, port, XANDROS, "xandros@blobber.org", msg) or (0,))[0],
          250)
    got = sink.wait_for(lambda m: b"Subject: own from" in m.data)
    check("own From: left the host", got is not None, True)
    if got:
        check("own From: signed with both keys", signatures(got.data),
              [("blobber.org", "e1", "ed25519-sha256"), ("blobber.org", "r1", "rsa-sha256")])
        py, od, detail = verified(got.data, records)
        check(f"own From: python3-dkim verifies ({detail})", py, True)
        check(f"own From: opendkim verifies ({detail})", od, True)
        for name, tampered in dkim_verify.tamper_variants(got.data):
            py, od, _ = verified(tampered, records)
            check(f"tampered ({name}): both verifiers refuse", (py, od), (False, False))
    check("signed: logged with queue id, d= and s=",
          bool(re.search(r"[0-9A-F]+: signed: from=<xandros@blobber.org> login=xandros@blobber.org:"
                         r" d=blobber.org s=r1 a=rsa-sha256, d=blobber.org s=e1", milter.log())),
          True)

    msg = message("From: <xandros@blobber.net>\r\n", OUTSIDE, "alias from")
    check("alias domain From: accepted",
          (submit(pf, port, XANDROS, "xandros@blobber.net", msg) or (0,))[0], 250)
    got = sink.wait_for(lambda m: b"Subject: alias from" in m.data)
    check("alias domain From: left the host", got is not None, True)
    if got:
        check("alias domain From: d= is the alias", signatures(got.data),
              [("blobber.net", "e1", "ed25519-sha256"), ("blobber.net", "r1", "rsa-sha256")])
        py, od, detail = verified(got.data, records)
        check(f"alias domain From: both verifiers ({detail})", (py, od), (True, True))


def refusal_cases(pf, port):
    cases = [
        ("foreign From", "From: <vivita@blobber.org>\r\n",
         "From address <vivita@blobber.org> is not owned by user xandros@blobber.org"),
        ("two From fields", "From: <xandros@blobber.org>\r\nFrom: <vivita@blobber.org>\r\n",
         "several From headers"),
        ("two mailboxes in From", "From: <xandros@blobber.org>, <vivita@blobber.org>\r\n",
         "Malformed From header: several addresses"),
        ("address in the display name", 'From: "xandros@blobber.org" <vivita@blobber.org>\r\n',
         "not owned by user"),
        ("no From", "", "no From header"),
    ]
    for name, header, reason in cases:
        data = submit(pf, port, XANDROS, "xandros@blobber.org",
                      message(header, OUTSIDE, name))
        code, text = data or (0, "")
        check(f"{name}: refused at end of data with 550 5.7.1", (code, text.startswith("5.7.1")),
              (550, True))
        check(f"{name}: the reason is given ({text})", reason in text, True)


def large_header_case(pf, port):
    """Signed fields beyond 1 MiB (a few kB in real mail) are refused, not held."""
    # Folded into lines under Postfix's line_length_limit, each field under header_size_limit
    # and under the 64 KB a milter packet holds.
    folded = "\r\n\t".join(["x" * 1000] * 60)
    subjects = "".join(f"Subject: {i}\r\n\t{folded}\r\n" for i in range(20))
    msg = message("From: <xandros@blobber.org>\r\n", OUTSIDE, "huge header", extra=subjects)
    data = submit(pf, port, XANDROS, "xandros@blobber.org", msg)
    check(f"signed fields over 1 MiB: 552 5.3.4 ({(data or (0, ''))[1][:60]})",
          (data or (0, ""))[0] == 552 and data[1].startswith("5.3.4"), True)


def shared_mailbox_cases(pf, port, db, sink):
    msg = message("From: <office@blobber.org>\r\n", OUTSIDE, "shared before")
    code = (submit(pf, port, XANDROS, "xandros@blobber.org", msg) or (0,))[0]
    check("shared mailbox: refused while from_any_in_domain is off", code, 550)
    db.sql("UPDATE domains SET from_any_in_domain = TRUE WHERE name = 'blobber.org'")
    time.sleep(1.0)
    msg = message("From: <office@blobber.org>\r\n", OUTSIDE, "shared after")
    code = (submit(pf, port, XANDROS, "xandros@blobber.org", msg) or (0,))[0]
    check("shared mailbox: any address of the domain once the domain allows it", code, 250)
    check("shared mailbox: signed", sink.wait_for(
        lambda m: b"Subject: shared after" in m.data and b"DKIM-Signature" in m.data) is not None,
        True)
    msg = message("From: <ceo@whopper.nu>\r\n", OUTSIDE, "shared other domain")
    code = (submit(pf, port, XANDROS, "xandros@blobber.org", msg) or (0,))[0]
    check("shared mailbox: never another domain's address", code, 550)
    db.sql("UPDATE addresses a JOIN domains d ON d.id = a.domain_id SET a.from_any_in_domain ="
           " FALSE WHERE d.name = 'blobber.org' AND a.local_part = 'xandros'")
    time.sleep(1.0)
    msg = message("From: <office@blobber.org>\r\n", OUTSIDE, "shared address off")
    code = (submit(pf, port, XANDROS, "xandros@blobber.org", msg) or (0,))[0]
    check("shared mailbox: the address's own setting overrides the domain's", code, 550)
    db.sql("UPDATE domains SET from_any_in_domain = FALSE WHERE name = 'blobber.org'")
    db.sql("UPDATE addresses SET from_any_in_domain = NULL")


def unsigned_cases(pf, port, sink, milter):
    ann = ("ann@lala.com", "secret")
    msg = message("From: <ann@lala.com>\r\n", OUTSIDE, "no key domain")
    check("domain without a key: accepted", (submit(pf, port, ann, "ann@lala.com", msg) or (0,))[0],
          250)
    got = sink.wait_for(lambda m: b"Subject: no key domain" in m.data)
    check("domain without a key: leaves unsigned",
          got is not None and b"DKIM-Signature" not in got.data, True)
    submit(pf, port, ann, "ann@lala.com", message("From: <ann@lala.com>\r\n", OUTSIDE, "again"))
    check("domain without a key: one log line per hour",
          milter.log().count("no active DKIM key for lala.com"), 1)
    # Port 25, no login: not the milter's business (not checked, not signed).
    r = pf.send("xandros@blobber.org", [OUTSIDE],
                message("From: <vivita@blobber.org>\r\n", OUTSIDE, "unauthenticated"))
    check("unauthenticated: accepted", (r.data or (0,))[0], 250)
    got = sink.wait_for(lambda m: b"Subject: unauthenticated" in m.data)
    check("unauthenticated: passes unsigned", got is not None and b"DKIM-Signature" not in got.data,
          True)


def sendmail_case(pf, sink, records, name):
    """Mail injected with Postfix's own sendmail (non_smtpd_milters), as a vacation reply is."""
    msg = message("From: Xandros Blob <xandros@blobber.org>\r\n", OUTSIDE, name,
                  body="I am away until Monday.\r\n", extra="Auto-Submitted: auto-replied\r\n")
    p = subprocess.run(["/usr/sbin/sendmail", "-C", pf.conf, "-i", "-f", "xandros@blobber.org",
                        "--", OUTSIDE], input=msg.replace(b"\r\n", b"\n"), capture_output=True)
    check(f"{name}: sendmail took it", (p.returncode, p.stderr), (0, b""))
    subprocess.run(["/usr/sbin/postqueue", "-c", pf.conf, "-f"], capture_output=True)
    got = sink.wait_for(lambda m: f"Subject: {name}".encode() in m.data)
    check(f"{name}: left the host", got is not None, True)
    if got:
        py, od, detail = verified(got.data, records)
        check(f"{name}: signed, both verifiers ({detail})",
              (len(signatures(got.data)), py, od), (2, True, True))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def large_message_case(pf, port, sink, records, milter):
    line = ("0123456789abcdefghijklmnopqrstuvwxyz" * 2 + "\r\n").encode()
    body = line * (30 * 1024 * 1024 // len(line))
    msg = message("From: <xandros@blobber.org>\r\n", OUTSIDE, "thirty megabytes").replace(
        b"Hello from the milter test.\r\n", body)
    before = rss_kb(milter.proc.pid)
    code = (submit(pf, port, XANDROS, "xandros@blobber.org", msg) or (0,))[0]
    after = rss_kb(milter.proc.pid)
    check("30 MB: accepted", code, 250)
    check(f"30 MB: milter RSS grew by at most 4 MB ({before} -> {after} kB)",
          after - before <= 4096, True)
    got = sink.wait_for(lambda m: b"Subject: thirty megabytes" in m.data, timeout=120)
    check("30 MB: left the host", got is not None, True)
    if got:
        py, _ = dkim_verify.verify_python(got.data, records)
        check("30 MB: python3-dkim verifies", py, True)


def fault_cases(pf, port, db, sink, records, milter, tmp):
    key = f"{tmp}/dkim/blobber.org.e1.key"
    os.chmod(key, 0o644)
    os.utime(key)
    with open(key, "a"):
        pass
    time.sleep(0.3)
    db.sql("UPDATE domains SET description = 'touch' WHERE name = 'blobber.org'")  # reload keys
    time.sleep(1.0)
    msg = message("From: <xandros@blobber.org>\r\n", OUTSIDE, "broken key")
    data = submit(pf, port, XANDROS, "xandros@blobber.org", msg)
    check("key file readable by others: 451 4.3.0, not sent unsigned",
          (data or (0, ""))[0] == 451 and data[1].startswith("4.3.0"), True)
    check("key file readable by others: logged",
          "lets others read it" in milter.log(), True)
    os.chmod(key, 0o640)
    db.sql("UPDATE domains SET description = '' WHERE name = 'blobber.org'")
    time.sleep(1.0)
    msg = message("From: <xandros@blobber.org>\r\n", OUTSIDE, "key fixed")
    check("key file fixed: accepted", (submit(pf, port, XANDROS, "xandros@blobber.org", msg)
                                       or (0,))[0], 250)

    db.stop()
    try:
        time.sleep(1.5)
        msg = message("From: <xandros@blobber.org>\r\n", OUTSIDE, "db down")
        data = submit(pf, port, XANDROS, "xandros@blobber.org", msg)
        check("database down: the From check defers with 451 4.3.0",
              (data or (0, ""))[0] == 451 and data[1].startswith("4.3.0"), True)
        sendmail_case(pf, sink, records, "db down sendmail")
    finally:
        db.start()
    time.sleep(2.0)
    msg = message("From: <xandros@blobber.org>\r\n", OUTSIDE, "db back")
    check("database back: accepted and signed",
          (submit(pf, port, XANDROS, "xandros@blobber.org", msg) or (0,))[0], 250)


def metrics_counted(endpoint):
    """What the cases above did, in the milter's metrics."""
    m = vhm_metrics.scrape(endpoint)

    def count(stage, result):
        return vhm_metrics.value(m, "vhostmail_requests_total", stage=stage, result=result) or 0

    check("metrics: messages planned for signing", count("headers", "sign") > 0, True)
    check("metrics: refusals counted", count("headers", "reject") > 0, True)
    check("metrics: the outage's deferrals counted", count("headers", "tempfail") > 0, True)
    check("metrics: every message planned for signing was signed or deferred",
          count("signing", "signed") + count("signing", "tempfail"), count("headers", "sign"))
    check("metrics: at least one signature per signed message",
          (vhm_metrics.value(m, "vhostmail_dkim_signatures_total") or 0) >=
          count("signing", "signed"), True)


def main():
    milter_bin, authd, tool, source = sys.argv[1:5]
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-milter-") as tmp, \
            vhm_mariadb.private_mariadb() as db, smtp_sink() as sink:
        os.chmod(tmp, 0o755)
        base = vhm_daemon.base_config(db, tmp)
        vhm_daemon.spec_database(tool, db, source)
        r = vhm_daemon.admin_tool(tool, db, "domain", "alias", "add", "blobber.net", "blobber.org")
        check("domain alias added", r.returncode, 0)
        db.sql("INSERT INTO addresses (domain_id, local_part, password) SELECT d.id, 'ann',"
               " a.password FROM domains d, addresses a WHERE d.name = 'lala.com' AND"
               " a.local_part = 'xandros'")
        records = make_keys(tool, db, tmp)
        admin_cases(tool, db, tmp)
        authd_cf = (base + f"authd_dovecot_listen = unix:{tmp}/auth\n"
                    "authd_allow_cleartext = yes\nauthd_hash_rounds = 5000\n"
                    # Logins go on through the outage from authd's cache, so that the
                    # milter's own answer to it is what the outage case sees.
                    "authd_cache_ttl = 60s\nauthd_throttle = no\n")
        milter_cf = base + (f"milter_listen = unix:{tmp}/milter\n"
                            "milter_socket_group =\nmilter_socket_mode = 0666\n"
                            f"milter_metrics_listen = unix:{tmp}/milter-metrics\n")
        sub_port = vhm_postfix.free_port()
        with open(os.path.join(source, "postfix-snippets", "main.cf.milter")) as f:
            main_cf = f.read().replace("unix:private/vhostmail-milter", f"unix:{tmp}/milter")
        main_cf += (f"relayhost = [127.0.0.1]:{sink.port}\n"
                    "message_size_limit = 40000000\n"
                    "mynetworks = 127.0.0.0/8\n"
                    # The test's client is on this host; a user's is not: Postfix must not add
                    # a missing From for it.
                    "local_header_rewrite_clients =\n"
                    "smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated,"
                    " reject_unauth_destination\n")
        master_cf = (f"127.0.0.1:{sub_port} inet n - n - - smtpd\n"
                     "  -o syslog_name=postfix/submission\n"
                     "  -o smtpd_sasl_auth_enable=yes\n"
                     "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
                     "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
                     f"  -o smtpd_milters=unix:{tmp}/milter\n"
                     f"  -o smtpd_sasl_type=dovecot\n  -o smtpd_sasl_path={tmp}/auth\n")
        with contextlib.ExitStack() as stack:
            stack.enter_context(vhm_daemon.daemon(authd, authd_cf, tmp, name="authd"))
            # ASan keeps freed memory in quarantine (256 MB by default), which would count
            # libmilter's freed body buffers as the milter's RSS: off for the milter only.
            saved = os.environ.get("ASAN_OPTIONS")
            os.environ["ASAN_OPTIONS"] = (saved + ":" if saved else "") + "quarantine_size_mb=0"
            milter = stack.enter_context(vhm_daemon.daemon(milter_bin, milter_cf, tmp,
                                                           name="milter"))
            if saved is None:
                del os.environ["ASAN_OPTIONS"]
            else:
                os.environ["ASAN_OPTIONS"] = saved
            pf = stack.enter_context(vhm_postfix.private_postfix(tmp, main_cf_extra=main_cf,
                                                                 master_cf_extra=master_cf))
            milter.wait_for_log("routing data loaded")
            check("postconf -n is warning-free", pf.postconf_warnings(), "")
            check("milter socket made", os.path.exists(f"{tmp}/milter"), True)
            signing_cases(pf, sub_port, sink, records, milter)
            refusal_cases(pf, sub_port)
            large_header_case(pf, sub_port)
            shared_mailbox_cases(pf, sub_port, db, sink)
            unsigned_cases(pf, sub_port, sink, milter)
            sendmail_case(pf, sink, records, "injected with sendmail")
            large_message_case(pf, sub_port, sink, records, milter)
            fault_cases(pf, sub_port, db, sink, records, milter, tmp)
            metrics_counted(f"unix:{tmp}/milter-metrics")
            check("SIGTERM: clean exit", milter.terminate(), 0)
            check("no crash or sanitizer report",
                  "ERROR: " in milter.log() or "runtime error" in milter.log(), False)
            if failures:
                print("milter log:\n" + milter.log()[-6000:])
                print("postfix log:\n" + pf.log()[-6000:])
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
