#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The admin tool attacked by a domain administrator (a customer) and by a local user, against a
real MariaDB. Each check here failed before the defect it names was fixed.

usage: run_admin_attacks_test.py ADMIN_BINARY SOURCE_DIR

- A domain administrator cannot store a program: no whitespace, case or encoding variant of a
  `|command` fallback, and no filter, gets past the check; the superadmin may store them, and
  what is stored is the one normalised form the resolver reads.
- A domain administrator cannot take over an address whose admin rights reach beyond theirs
  (password, existence, enabled state, forwardings, vacation), and `resolve` shows them no
  routing outside their domains.
- Quotas a domain administrator sets stay within the domain's default (never 0 = unlimited);
  local parts that would put a Maildir inside another (a '/', "." or "..") are refused for all.
- `--as` is no password oracle: a right password of a non-administrator and a wrong one get the
  same line and exit status, both count as failures in authd's throttling state, and blocks in
  that state (set by authd or by the tool itself) are honoured.
- `vhostmail check` warns when the file holding db_password is readable by every local user.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
from run_admin_test import tool  # noqa: E402
from vhm_check import check, verdict  # noqa: E402

ADM, BOSS, PLAIN = "adm@x.example", "boss@x.example", "plain@x.example"
PASSWORDS = {ADM: "adm pass", BOSS: "boss pass", PLAIN: "plain pass"}


def as_(login, password=None):
    """Options and stdin to run the tool signed in as `login`."""
    return ("--as", login, "--password-stdin"), (password or PASSWORDS[login]) + "\n"


def scalar(db, sql):
    return db.sql(sql).strip()


def set_up(t):
    t.ok("domain", "add", "x.example", "quota_bytes=100M", "quota_messages=1000")
    t.ok("domain", "add", "y.example")
    for login, pw in PASSWORDS.items():
        t.ok("address", "add", login, "mailbox=yes")
        t.ok("address", "passwd", login, "--stdin", stdin=pw + "\n")
    t.ok("admin", "add", ADM, "x.example")
    t.ok("admin", "add", BOSS, "x.example")
    t.ok("admin", "add", BOSS, "y.example")
    t.ok("address", "add", "fwd@x.example")
    t.ok("address", "forward", "add", "fwd@x.example", "deep@y.example")
    t.ok("address", "add", "deep@y.example")
    t.ok("address", "forward", "add", "deep@y.example", "secret-offsite@gmail.example")
    t.ok("address", "add", "box@y.example", "mailbox=yes", "maildir=y.example/hidden-box/")
    t.ok("address", "forward", "add", "deep@y.example", "box@y.example")


COMMAND = "|/bin/sh -c id"
VARIANTS = [COMMAND, " " + COMMAND, "\t" + COMMAND, "\n" + COMMAND, "|\t/bin/sh -c id",
            "  |  /bin/sh -c id  ", COMMAND + "\r\n"]
NAMES = ["fallback", "Fallback", "FALLBACK", " fallback"]


def no_programs_for_domain_admins(t, db):
    opts, pw = as_(ADM)
    for name in NAMES:
        for value in VARIANTS:
            t.fails(1, "is for the superadmin", *opts, "domain", "set", "x.example",
                    f"{name}={value}", stdin=pw)
    t.fails(1, "is for the superadmin", *opts, "domain", "set", "x.example",
            "filter_command=/bin/sh -c id", stdin=pw)
    # Where the domain's mail goes is the superadmin's: a customer could otherwise send it to
    # a service on the mail host (lmtp:unix:...), or take mail of an address as backup MX.
    for setting in ("transport=lmtp:unix:/var/run/dovecot/lmtp", "role=backup",
                    "relayhost=[127.0.0.1]:25"):
        t.fails(1, "is for the superadmin", *opts, "domain", "set", "x.example", setting,
                stdin=pw)
    t.fails(1, "is for the superadmin", *opts, "address", "set", "fwd@x.example",
            "transport=lmtp:unix:/var/run/dovecot/lmtp", stdin=pw)
    check("domain admin: no routing setting was stored",
          scalar(db, "SELECT CONCAT(role, '[', transport, '][', relayhost, ']')"
                     " FROM domains WHERE name = 'x.example'"), "primary[][]")
    check("domain admin: no variant stored a fallback or a filter",
          scalar(db, "SELECT CONCAT('[', fallback, '][', COALESCE(filter_command, ''), ']')"
                     " FROM domains WHERE name = 'x.example'"), "[][]")
    t.ok(*opts, "domain", "set", "x.example", "fallback= @y.example ", stdin=pw)
    check("domain admin: a harmless fallback is stored trimmed",
          scalar(db, "SELECT fallback FROM domains WHERE name = 'x.example'"), "@y.example")
    for name in NAMES:
        for value in VARIANTS:
            t.ok("domain", "set", "x.example", f"{name}={value}")
            check(f"superadmin: {name}={value!r} stored as the one normalised form",
                  scalar(db, "SELECT fallback FROM domains WHERE name = 'x.example'"), COMMAND)
    out = t.ok("resolve", "nobody@x.example")
    check("resolve routes the stored command", "(|/bin/sh -c id)" in out, True)
    t.ok("domain", "set", "x.example", "fallback=")
    t.fails(1, "bad value for fallback", "domain", "set", "x.example", "fallback=|a\x0bb")
    # Commands: absolute, a first word at all, and no %u/%d/%f inside a script.
    for bad in ("|prog %u", "|'' /bin/true", "|   "):
        t.fails(1, "bad value for fallback", "domain", "set", "x.example", f"fallback={bad}")
    t.fails(1, "inside a shell's or interpreter's script", "domain", "set", "x.example",
            "fallback=|/bin/sh -c 'echo %u'")
    t.ok("domain", "set", "x.example", "fallback=|/bin/sh -c 'exec /bin/cat \"$1\"' sh %u")
    check("a token passed as an argument is stored",
          scalar(db, "SELECT fallback FROM domains WHERE name = 'x.example'"),
          "|/bin/sh -c 'exec /bin/cat \"$1\"' sh %u")
    t.ok("domain", "set", "x.example", "fallback=")


def no_takeover_of_wider_admins(t, db):
    opts, pw = as_(ADM)
    boss_hash = scalar(db, "SELECT password FROM addresses WHERE local_part = 'boss'")
    attacks = [
        ("address", "passwd", BOSS, "--stdin"),
        ("address", "set", BOSS, "enabled=no"),
        ("address", "remove", BOSS),
        ("address", "forward", "add", BOSS, ADM),
        ("vacation", "set", BOSS, "subject=gone"),
        ("vacation", "clear", BOSS),
    ]
    for args in attacks:
        stdin = pw + ("taken over\n" if "passwd" in args else "")
        t.fails(1, "administers y.example", *opts, *args, stdin=stdin)
    check("takeover: boss's password, state and forwards unchanged",
          scalar(db, "SELECT CONCAT(a.password = '" + boss_hash + "', a.enabled,"
                     " (SELECT COUNT(*) FROM forwardings f WHERE f.address_id = a.id))"
                     " FROM addresses a WHERE a.local_part = 'boss'"), "110")
    # Send grants into another domain are rights beyond the caller's too.
    t.ok("address", "add", "granted@x.example")
    t.ok("address", "grant", "add", "granted@x.example", "@y.example")
    t.fails(1, "may send as addresses of y.example", *opts, "address", "passwd",
            "granted@x.example", "--stdin", stdin=pw + "taken over\n")
    t.ok(*opts, "address", "passwd", PLAIN, "--stdin", stdin=pw + "new plain pass\n")
    PASSWORDS[PLAIN] = "new plain pass"
    # An address whose rights stay within the caller's domains may be changed: another admin of
    # x.example only.
    t.ok("address", "add", "co@x.example")
    t.ok("admin", "add", "co@x.example", "x.example")
    t.ok(*opts, "address", "set", "co@x.example", "enabled=no", stdin=pw)
    # resolve: the view stops where the routing enters y.example.
    code, out, err = t.run(*opts, "resolve", "fwd@x.example", stdin=pw)
    check("resolve as domain admin: deliverable (the verdict is the full routing's)",
          (code, err), (0, ""))
    check("resolve as domain admin: says where it stops",
          "deep@y.example (outside your domains: not shown)" in out, True)
    for secret in ("secret-offsite", "hidden-box", "box@y.example"):
        check(f"resolve as domain admin: {secret} not shown", secret in out, False)
    # Probing another domain through a forward tells nothing: whatever lies beyond counts as
    # deliverable, existing or not.
    t.ok(*opts, "address", "add", "probe@x.example", stdin=pw)
    t.ok(*opts, "address", "forward", "add", "probe@x.example", "ghost@y.example", stdin=pw)
    code, out, err = t.run(*opts, "resolve", "probe@x.example", stdin=pw)
    check("resolve as domain admin: a missing address outside looks like an existing one",
          (code, "ghost@y.example (outside your domains: not shown)" in out), (0, True))
    out = t.ok("resolve", "fwd@x.example")
    check("resolve as superadmin shows everything",
          ("secret-offsite@gmail.example" in out, "hidden-box" in out), (True, True))


def quotas_and_local_parts(t, db):
    opts, pw = as_(ADM)
    for setting, why in [("quota_bytes=0", "to unlimited"),
                         ("quota_messages=0", "to unlimited"),
                         ("quota_bytes=200M", "above the domain's"),
                         ("quota_messages=5000", "above the domain's")]:
        t.fails(1, why, *opts, "address", "set", PLAIN, setting, stdin=pw)
        t.fails(1, why, *opts, "address", "add", "new@x.example", setting, stdin=pw)
    t.ok(*opts, "address", "set", PLAIN, "quota_bytes=50M", "quota_messages=10", stdin=pw)
    t.ok(*opts, "address", "set", PLAIN, "quota_bytes=none", stdin=pw)
    check("quota: within the domain's default is stored",
          scalar(db, "SELECT CONCAT(COALESCE(quota_bytes, 'none'), '/', quota_messages)"
                     " FROM addresses WHERE local_part = 'plain'"), "none/10")
    t.ok("address", "set", PLAIN, "quota_bytes=0")  # the superadmin may lift it
    for local in ("a/b", "..", ".", "x/../y"):
        t.fails(1, "cannot name a Maildir", "address", "add", f"{local}@x.example",
                "mailbox=yes")
        t.fails(1, "cannot name a Maildir", *opts, "address", "add", f"{local}@x.example",
                stdin=pw)
    check("local parts: nothing stored", scalar(
        db, "SELECT COUNT(*) FROM addresses WHERE local_part LIKE '%/%' OR local_part IN"
            " ('.', '..')"), "0")


def attempts(db, client=None, login=None):
    where = [f"{k} = '{v}'" for k, v in (("client", client), ("login", login)) if v]
    return int(scalar(db, "SELECT COALESCE(SUM(failures), 0) FROM auth_attempts" +
                      (" WHERE " + " AND ".join(where) if where else "")))


def no_password_oracle(t, db):
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;")
    o, p = as_(PLAIN)  # right password, administers nothing
    right = t.run(*o, "domain", "list", stdin=p)
    o, p = as_(ADM, "wrong")
    wrong = t.run(*o, "domain", "list", stdin=p)
    check("oracle: right password of a non-admin and a wrong password: same status and line",
          (right[0], right[2].replace(PLAIN, "LOGIN")), (wrong[0], wrong[2].replace(ADM, "LOGIN")))
    check("oracle: the line says authentication failed", wrong[2],
          f"vhostmail: authentication failed for {ADM}")
    check("oracle: both count as failures of this local user",
          (attempts(db, "uid:%d" % os.getuid(), PLAIN), attempts(db, "uid:%d" % os.getuid(), ADM)),
          (1, 1))
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;")
    # authd recorded an attack on boss from the network: the tool honours the block.
    db.sql("INSERT INTO auth_attempts (client, login, bucket, shard, failures) VALUES"
           f" ('203.0.113.7', '{BOSS}', UNIX_TIMESTAMP() DIV 60, 'mx1', 30)")
    o, p = as_(BOSS)
    t.fails(1, "authentication failed", *o, "domain", "list", stdin=p)
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;")
    # The tool's own failures: block_after (4 here) wrong passwords, then even the right one is
    # refused, with the same line.
    for _ in range(4):
        o, p = as_(ADM, "guess")
        t.fails(1, "authentication failed", *o, "domain", "list", stdin=p)
    o, p = as_(ADM)
    t.fails(1, "authentication failed", *o, "domain", "list", stdin=p)
    check("throttle: the refused attempt was not counted again",
          attempts(db, login=ADM), 4)
    db.sql("DELETE FROM auth_attempts; DELETE FROM auth_trust;")
    o, p = as_(ADM)
    t.ok(*o, "domain", "list", stdin=p)


def secret_files(t, cfg):
    os.chmod(cfg, 0o644)
    code, out, _ = t.run("check")
    check("check: warns that the file with db_password is world-readable",
          f"warning: {cfg} holds db_password and is readable by every local user" in out, True)
    os.chmod(cfg, 0o640)
    code, out, _ = t.run("check")
    check("check: no warning at mode 0640", "readable by every local user" in out, False)


def main():
    admin, source = sys.argv[1:3]
    vhm_mariadb.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-attacks-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        cfg = os.path.join(tmp, "vhostmail.cf")
        with open(cfg, "w") as f:
            f.write(vhm_daemon.base_config(db, tmp) +
                    f"admin_migrations_directory = {source}/sql/migrations\n"
                    "authd_throttle_free_failures = 1\n"
                    "authd_throttle_base_delay = 10ms\n"
                    "authd_throttle_max_delay = 20ms\n"
                    "authd_throttle_block_after = 4\n")
        t = tool(admin, cfg)
        t.ok("db", "migrate")
        set_up(t)
        no_programs_for_domain_admins(t, db)
        no_takeover_of_wider_admins(t, db)
        quotas_and_local_parts(t, db)
        no_password_oracle(t, db)
        secret_files(t, cfg)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
