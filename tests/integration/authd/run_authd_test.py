#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of vhostmail-authd with a real MariaDB, a private Postfix smtpd
(smtpd_sasl_type = dovecot) and Debian's testsaslauthd (saslauthd protocol).

usage: run_authd_test.py AUTHD_BINARY ADMIN_BINARY SOURCE_DIR

Covers: AUTH PLAIN and LOGIN (with and without initial response) through Postfix for a good
password, a wrong one, an address without password, a disabled address, a disabled domain, a
domain whose smtp logins are locked, a domain alias, an unknown user; the same cases through
testsaslauthd (user@realm and -u user -r realm); cleartext refusal; the database stopped and hung
(Postfix answers 454, testsaslauthd gets no answer, one log line per outage) and back; throttling
(delay, refusal, shared counts in the database, the trusted client of a login); the log line per
failure (client, login, reason, never the password); socket mode; privilege drop.
"""

import base64
import os
import pwd
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402
import vhm_sasl  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

PASSWORD = "secret"  # sql/fixtures/spec-example.sql


def lenient(tmp):
    return (f"authd_dovecot_listen = unix:{tmp}/auth\n"
            f"authd_saslauthd_listen = unix:{tmp}/mux\n"
            "authd_allow_cleartext = yes\n"
            "authd_cache_ttl = 0\n"
            "authd_throttle_free_failures = 100000\n"
            "authd_throttle_block_after = 200000\n"
            "authd_hash_rounds = 5000\n")


def testsaslauthd(tmp, *args, **kwargs):
    return vhm_sasl.testsaslauthd(f"{tmp}/mux", *args, **kwargs)


def set_up_data(db):
    db.sql("""
        INSERT INTO domains (name) VALUES ('off.example'), ('locked.example');
        UPDATE domains SET enabled = FALSE WHERE name = 'off.example';
        UPDATE domains SET logins = 'imap,pop3' WHERE name = 'locked.example';
        INSERT INTO addresses (domain_id, local_part, password)
            SELECT id, 'joe', (SELECT password FROM addresses WHERE local_part = 'xandros')
            FROM domains WHERE name IN ('off.example', 'locked.example');
        INSERT INTO addresses (domain_id, local_part, password, enabled)
            SELECT id, 'gone', (SELECT password FROM addresses WHERE local_part = 'xandros'), FALSE
            FROM domains WHERE name = 'blobber.org';
        INSERT INTO addresses (domain_id, local_part, password, logins)
            SELECT id, 'imaponly', (SELECT password FROM addresses WHERE local_part = 'xandros'),
                   'imap'
            FROM domains WHERE name = 'blobber.org';
        INSERT INTO domain_aliases (name, domain_id)
            SELECT 'blobber.net', id FROM domains WHERE name = 'blobber.org';
    """)


# (name, login, password, want_ok)
CASES = [
    ("good password", "xandros@blobber.org", PASSWORD, True),
    ("good password, upper case login", "Vivita@Blobber.ORG", PASSWORD, True),
    ("wrong password", "xandros@blobber.org", "wrong", False),
    ("no password", "karl@blobber.org", PASSWORD, False),
    ("disabled address", "gone@blobber.org", PASSWORD, False),
    ("disabled domain", "joe@off.example", PASSWORD, False),
    ("domain with smtp logins locked", "joe@locked.example", PASSWORD, False),
    ("address with smtp logins locked", "imaponly@blobber.org", PASSWORD, False),
    ("domain alias does not log in", "xandros@blobber.net", PASSWORD, False),
    ("unknown user", "nobody@blobber.org", PASSWORD, False),
    ("bare local part", "xandros", PASSWORD, False),
]


def postfix_cases(pf):
    for mech in ("PLAIN", "LOGIN"):
        for initial in (True, False):
            for name, login, pw, ok in CASES:
                code, text = pf.auth(mech, login, pw, initial=initial)
                check(f"postfix AUTH {mech}{'' if initial else ' (no initial)'} {name}",
                      (code, text.split()[0] if text else ""),
                      (235, "2.7.0") if ok else (535, "5.7.8"))


def tool_password(pf, admin, db):
    """A password set with the admin tool (its default hash) logs in through authd."""
    r = vhm_daemon.admin_tool(admin, db, "address", "passwd", "vivita@blobber.org", "--stdin",
                              stdin="from the tool 1\n")
    check("vhostmail address passwd --stdin", (r.returncode, r.stderr.strip()), (0, ""))
    code, _ = pf.auth("PLAIN", "vivita@blobber.org", "from the tool 1")
    check("a password set with the tool logs in through authd", code, 235)
    code, _ = pf.auth("PLAIN", "vivita@blobber.org", PASSWORD)
    check("...and the old one no longer does", code, 535)


def saslauthd_cases(tmp):
    for name, login, pw, ok in CASES:
        code, out = testsaslauthd(tmp, login, pw)
        check(f"testsaslauthd -u {login}: {name}", (code, out.startswith("0: OK")),
              (0, True) if ok else (255, False))
        if "@" in login:
            user, _, realm = login.rpartition("@")
            code, out = testsaslauthd(tmp, user, pw, realm=realm)
            check(f"testsaslauthd -u {user} -r {realm}: {name}", code, 0 if ok else 255)
    code, _ = testsaslauthd(tmp, "imaponly@blobber.org", PASSWORD, service="imap")
    check("testsaslauthd: imap allowed where smtp is locked", code, 0)
    code, _ = testsaslauthd(tmp, "joe@locked.example", PASSWORD, service="imap")
    check("testsaslauthd: imap allowed for the locked-smtp domain", code, 0)


def log_lines(d, since):
    return d.log()[since:]


def failure_logs(d, since):
    text = log_lines(d, since)
    check("failure logged with client, login and reason",
          "127.0.0.1: PLAIN authentication failed: login=xandros@blobber.org service=smtp "
          "reason=password mismatch" in text, True)
    check("no password in the log", PASSWORD in text or "wrong" in text.replace(
        "wrong password", ""), False)


def crafted_login_logged_as_one_field(d, tmp):
    """A login with blanks and '=' cannot add fields of its own to authd's log line."""
    at = d.log_size()
    c = vhm_sasl.dovecot_client(f"{tmp}/auth")
    c.plain(90, "x reason=ok service=imap login=admin@blobber.org", "guess", rip="192.0.2.90")
    c.close()
    text = log_lines(d, at)
    check("crafted login: escaped inside its own field",
          "login=x\\x20reason\\x3dok\\x20service\\x3dimap\\x20login\\x3dadmin@blobber.org "
          "service=smtp reason=" in text, True)
    check("crafted login: no field of its own", " reason=ok" in text, False)


def cleartext_refused(pf, d, cfg_text):
    d.write_config(cfg_text.replace("authd_allow_cleartext = yes", "authd_allow_cleartext = no"))
    at = d.log_size()
    d.hup()
    d.wait_for_log("configuration reloaded", start_at=at)
    code, _ = pf.auth("PLAIN", "xandros@blobber.org", PASSWORD)
    check("cleartext PLAIN refused when not allowed (535)", code, 535)
    d.write_config(cfg_text)
    at = d.log_size()
    d.hup()
    d.wait_for_log("configuration reloaded", start_at=at)
    code, _ = pf.auth("PLAIN", "xandros@blobber.org", PASSWORD)
    check("cleartext PLAIN allowed again", code, 235)


def database_faults(db, pf, d, tmp):
    at = d.log_size()
    db.stop()
    for mech in ("PLAIN", "LOGIN"):
        code, text = pf.auth(mech, "xandros@blobber.org", PASSWORD)
        check(f"db stopped: postfix AUTH {mech} -> 454 4.7.0", (code, text[:5]), (454, "4.7.0"))
    code, out = pf.auth("PLAIN", "xandros@blobber.org", "wrong")
    check("db stopped: wrong password is also 454, never 535", code, 454)
    code, out = testsaslauthd(tmp, "xandros@blobber.org", PASSWORD)
    check("db stopped: testsaslauthd gets no answer (not OK, not NO)",
          (code != 0, "NO" in out, "OK" in out), (True, False, False))
    check("db stopped: daemon alive", d.alive(), True)
    outage = log_lines(d, at).count("database unavailable")
    check("db stopped: outage logged once", outage, 1)
    db.start()
    deadline = time.monotonic() + 20
    code = None
    while time.monotonic() < deadline:
        code, _ = pf.auth("PLAIN", "xandros@blobber.org", PASSWORD)
        if code == 235:
            break
        time.sleep(0.3)
    check("db back: postfix AUTH works again", code, 235)
    check("db back: recovery logged", "database available again" in log_lines(d, at), True)
    code, _ = testsaslauthd(tmp, "xandros@blobber.org", PASSWORD)
    check("db back: testsaslauthd works again", code, 0)
    # A hung server: the read timeout (2s) makes it a temporary failure too.
    db.pause()
    try:
        started = time.monotonic()
        code, _ = pf.auth("PLAIN", "vivita@blobber.org", PASSWORD)
        check("db hung: postfix AUTH -> 454", code, 454)
        check("db hung: answered within Postfix's 10 s", time.monotonic() - started < 9, True)
    finally:
        db.resume()
    check("db resumed: postfix AUTH works again", auth_when_back(pf, "vivita@blobber.org"), 235)


def auth_when_back(pf, login, timeout=20):
    """The AUTH reply code once the database is back: 235, or the last code after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        code, _ = pf.auth("PLAIN", login, PASSWORD)
        if code == 235 or time.monotonic() >= deadline:
            return code
        time.sleep(0.3)


def throttling(db, pf, d, tmp, cfg_text):
    strict = cfg_text.replace("authd_throttle_free_failures = 100000",
                              "authd_throttle_free_failures = 2").replace(
        "authd_throttle_block_after = 200000", "authd_throttle_block_after = 6") + \
        "authd_throttle_base_delay = 400ms\nauthd_throttle_max_delay = 800ms\n"
    d.write_config(strict)
    at = d.log_size()
    d.hup()
    d.wait_for_log("configuration reloaded", start_at=at)
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;", database=db.database)
    # The owner logs in from 198.51.100.5 first: that client becomes trusted for the login.
    c = vhm_sasl.dovecot_client(f"{tmp}/auth")
    check("trusted client: first login", c.plain(1, "vivita@blobber.org", PASSWORD,
                                                 rip="198.51.100.5"),
          "OK\t1\tuser=vivita@blobber.org")
    times = []
    for i in range(6):
        started = time.monotonic()
        code, _ = pf.auth("PLAIN", "vivita@blobber.org", "wrong")
        times.append(time.monotonic() - started)
        check(f"throttle: wrong password {i + 1} -> 535", code, 535)
    check("throttle: first failures are not delayed", times[0] < 0.35 and times[1] < 0.35, True)
    check("throttle: the 4th failure is delayed (>= 0.4 s)", times[3] >= 0.4, True)
    check("throttle: delays capped (< 1.5 s)", max(times) < 1.5, True)
    rows = db.sql("SELECT client, login, SUM(failures) FROM auth_attempts GROUP BY client, login",
                  database=db.database)
    check("throttle: failures counted in the database per client and login", rows.split()[-3:],
          ["127.0.0.1", "vivita@blobber.org", "6"])
    code, _ = pf.auth("PLAIN", "vivita@blobber.org", PASSWORD)
    check("throttle: blocked client refused even with the right password", code, 535)
    check("throttle: refusal logged", "too many failures" in d.log()[at:], True)
    check("throttle: another client is refused for the attacked login",
          c.plain(2, "vivita@blobber.org", PASSWORD, rip="203.0.113.9").startswith("FAIL\t2"),
          True)
    check("throttle: the login's trusted client still logs in",
          c.plain(3, "vivita@blobber.org", PASSWORD, rip="198.51.100.5"),
          "OK\t3\tuser=vivita@blobber.org")
    # The owner's success forgives only their own client's failures: it does not hand the
    # attacker a fresh set of guesses from elsewhere.
    check("throttle: the owner's success elsewhere does not lift the block for others",
          c.plain(4, "vivita@blobber.org", PASSWORD, rip="203.0.113.9").startswith("FAIL\t4"),
          True)
    db.sql("DELETE FROM auth_attempts;", database=db.database)
    # Two requests on one connection before reading either reply.
    blob = base64.b64encode(f"\0xandros@blobber.org\0{PASSWORD}".encode()).decode()
    c.send(f"AUTH\t5\tPLAIN\tservice=smtp\trip=192.0.2.50\tsecured\tresp={blob}\n"
           f"AUTH\t6\tLOGIN\tservice=smtp\trip=192.0.2.50\tsecured\n")
    check("pipelined: first reply", c.line(), "OK\t5\tuser=xandros@blobber.org")
    check("pipelined: second reply", c.line(), "CONT\t6\tVXNlcm5hbWU6")
    c.close()
    spraying_and_variants(db, c_path=f"{tmp}/auth")
    concurrent_wrong_attempts(db, f"{tmp}/auth")
    saslauthd_never_locks_out(db, tmp)
    d.write_config(cfg_text)
    at = d.log_size()
    d.hup()
    d.wait_for_log("configuration reloaded", start_at=at)
    db.sql("DELETE FROM auth_attempts;", database=db.database)


def attempts(db, client=None, login=None):
    where = [f"{k} = '{v}'" for k, v in (("client", client), ("login", login)) if v is not None]
    out = db.sql("SELECT COALESCE(SUM(failures), 0) FROM auth_attempts" +
                 (" WHERE " + " AND ".join(where) if where else ""), database=db.database)
    return int(out.split()[-1])


def spraying_and_variants(db, c_path):
    """block_after = 6: one client trying passwords on many logins stays blocked even when it
    logs in with an account of its own; an IPv6 client is its /64; case and +extension variants
    of a login are that login."""
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;", database=db.database)
    c = vhm_sasl.dovecot_client(c_path)
    sprayer = "192.0.2.66"
    for i, victim in enumerate(["vivita@blobber.org", "gone@blobber.org", "karl@blobber.org",
                                "imaponly@blobber.org"]):
        c.plain(10 + i, victim, "guess", rip=sprayer)
    check("spraying: the sprayer's own account logs in",
          c.plain(20, "xandros@blobber.org", PASSWORD, rip=sprayer),
          "OK\t20\tuser=xandros@blobber.org")
    check("spraying: that success did not wipe the client's failures",
          attempts(db, client=sprayer), 4)
    c.plain(21, "vivita@blobber.org", "guess", rip=sprayer)
    c.plain(22, "karl@blobber.org", "guess", rip=sprayer)
    check("spraying: blocked at block_after, even for its own account",
          c.plain(23, "xandros@blobber.org", PASSWORD, rip=sprayer).startswith("FAIL\t23"), True)
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;", database=db.database)
    for i in range(6):
        c.plain(30 + i, "xandros@blobber.org", "guess", rip=f"2001:db8:7:8::{i + 1:x}")
    check("IPv6: six addresses of one /64 are one client",
          attempts(db, client="2001:db8:7:8::/64"), 6)
    check("IPv6: a seventh address of that /64 is refused",
          c.plain(40, "xandros@blobber.org", PASSWORD, rip="2001:db8:7:8::ffff").startswith(
              "FAIL\t40"), True)
    check("IPv6: the next /64 is another client",
          c.plain(41, "imaponly@blobber.org", "guess", rip="2001:db8:7:9::1").startswith(
              "FAIL\t41"), True)
    check("IPv6: ... with its own count", attempts(db, client="2001:db8:7:9::/64"), 1)
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;", database=db.database)
    for i, variant in enumerate(["Vivita@blobber.org", "vivita+a@blobber.org",
                                 "VIVITA+b@Blobber.ORG"]):
        c.plain(50 + i, variant, "guess", rip=f"198.51.100.{i + 10}")
    check("login variants: counted under one login key",
          attempts(db, login="vivita@blobber.org"), 3)
    c.close()
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;", database=db.database)


def concurrent_wrong_attempts(db, c_path, n=64, block_after=6):
    """n wrong passwords for one login from one client at the same moment: each attempt is
    counted before its password is checked, so no more than block_after are ever checked."""
    import threading
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;", database=db.database)
    clients = [vhm_sasl.dovecot_client(c_path) for _ in range(n)]
    answers = [None] * n
    start = threading.Barrier(n)

    def one(i):
        start.wait()
        answers[i] = clients[i].plain(100 + i, "vivita@blobber.org", "guess", rip="192.0.2.99")

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    for c in clients:
        c.close()
    check(f"{n} concurrent wrong attempts: all refused",
          sum(1 for a in answers if a and a.startswith("FAIL")), n)
    checked = attempts(db, client="192.0.2.99")
    check(f"{n} concurrent wrong attempts: at most block_after ({block_after}) were checked",
          (checked <= block_after, checked >= 1), (True, True))
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;", database=db.database)


def saslauthd_never_locks_out(db, tmp):
    """The saslauthd protocol names no client: failures delay a login but never lock it, since
    anyone anywhere could otherwise lock its owner out."""
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;", database=db.database)
    for _ in range(8):
        testsaslauthd(tmp, "xandros@blobber.org", "wrong")
    check("saslauthd: failures counted for the login", attempts(db, login="xandros@blobber.org"),
          8)
    code, out = testsaslauthd(tmp, "xandros@blobber.org", PASSWORD)
    check("saslauthd: the right password still works after block_after failures",
          (code, "OK" in out), (0, True))
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;", database=db.database)


def snippets_parse(tmp, source):
    with open(os.path.join(source, "postfix-snippets/main.cf.sasl")) as f:
        snippet = f.read()
    parent = os.path.join(tmp, "snippet")
    os.makedirs(parent, exist_ok=True)
    pf = vhm_postfix.private_postfix(parent, main_cf_extra=snippet, start=False)
    pf.setup()
    check("main.cf.sasl: postconf -n is warning-free", pf.postconf_warnings(), "")


def cyrus_postfix(tmp, source, db):
    """Postfix built with Cyrus SASL, with the shipped smtpd.conf pointed at our socket.
    Debian's Postfix reads Cyrus configuration from <config_directory>/sasl/ (SASL_README)."""
    with open(os.path.join(source, "postfix-snippets/smtpd.conf")) as f:
        text = f.read().replace("saslauthd_path: /var/run/saslauthd/mux",
                                f"saslauthd_path: {tmp}/mux")
    parent = os.path.join(tmp, "cyrus")
    os.makedirs(parent, exist_ok=True)
    extra = "smtpd_sasl_auth_enable = yes\nsmtpd_sasl_type = cyrus\nsmtpd_sasl_path = smtpd\n"
    with vhm_postfix.private_postfix(parent, main_cf_extra=extra, start=False) as pf:
        os.makedirs(os.path.join(pf.conf, "sasl"), exist_ok=True)
        with open(os.path.join(pf.conf, "sasl", "smtpd.conf"), "w") as f:
            f.write(text)
        pf.start()
        for mech in ("PLAIN", "LOGIN"):
            code, _ = pf.auth(mech, "xandros@blobber.org", PASSWORD)
            check(f"cyrus postfix AUTH {mech} good password", code, 235)
            code, _ = pf.auth(mech, "xandros@blobber.org", "wrong")
            check(f"cyrus postfix AUTH {mech} wrong password", code, 535)
            code, _ = pf.auth(mech, "joe@locked.example", PASSWORD)
            check(f"cyrus postfix AUTH {mech} smtp locked", code, 535)
        db.stop()
        try:
            code, text = pf.auth("PLAIN", "xandros@blobber.org", PASSWORD)
            check("cyrus postfix, db stopped -> 454 4.7.0", (code, text[:5]), (454, "4.7.0"))
            code, _ = pf.auth("PLAIN", "xandros@blobber.org", "wrong")
            check("cyrus postfix, db stopped, wrong password -> 454", code, 454)
        finally:
            db.start()
        check("cyrus postfix, db back -> 235", auth_when_back(pf, "xandros@blobber.org"), 235)
        if failures:
            time.sleep(1)
            print("cyrus postfix log:\n" + pf.log()[-3000:])


def main():
    authd, admin, source = sys.argv[1:4]
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    if vhm_sasl.testsaslauthd_missing():
        print(f"SKIP: {vhm_sasl.testsaslauthd_missing()}")
        return 77
    with tempfile.TemporaryDirectory(prefix="vhm-authd-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        base = vhm_daemon.base_config(db, tmp)
        vhm_daemon.spec_database(admin, db, source)
        set_up_data(db)
        cfg_text = base + lenient(tmp)
        sasl = (f"smtpd_sasl_auth_enable = yes\n"
                f"smtpd_sasl_type = dovecot\n"
                f"smtpd_sasl_path = {tmp}/auth\n")
        with vhm_daemon.daemon(authd, cfg_text, tmp, name="authd") as d, \
                vhm_postfix.private_postfix(tmp, main_cf_extra=sasl) as pf:
            check("dovecot socket mode 0660", oct(os.stat(f"{tmp}/auth").st_mode & 0o777),
                  "0o660")
            check("privileges dropped to nobody",
                  os.stat(f"/proc/{d.proc.pid}").st_uid, pwd.getpwnam("nobody").pw_uid)
            c = vhm_sasl.dovecot_client(f"{tmp}/auth")
            check("handshake", [h.split("\t")[0] for h in c.handshake],
                  ["VERSION", "MECH", "MECH", "SPID", "CUID", "COOKIE", "DONE"])
            c.close()
            at = d.log_size()
            postfix_cases(pf)
            failure_logs(d, at)
            crafted_login_logged_as_one_field(d, tmp)
            saslauthd_cases(tmp)
            cleartext_refused(pf, d, cfg_text)
            throttling(db, pf, d, tmp, cfg_text)
            database_faults(db, pf, d, tmp)
            cyrus_postfix(tmp, source, db)
            snippets_parse(tmp, source)
            tool_password(pf, admin, db)  # last: it changes vivita's password
            check("SIGTERM: clean exit", d.terminate(), 0)
            check("no crash or sanitizer report", "ERROR: " in d.log() or "runtime error" in
                  d.log(), False)
            if failures:
                print("authd log:\n" + d.log()[-6000:])
                print("postfix log:\n" + pf.log()[-4000:])
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
