#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of the vhostmail admin tool against a real MariaDB (and lookupd for resolve).

usage: run_admin_test.py ADMIN_BINARY LOOKUPD_BINARY AUTHD_BINARY SOURCE_DIR

Builds docs/specification.md's example data with the tool only, then checks every subcommand's happy path and
its error paths (exit 1 with a one-line message, exit 2 for usage), limits, duplicates, invalid
input, that failed commands change nothing, --json output, `check` findings, and that `resolve`
agrees with what lookupd answers Postfix's postmap.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vhm_daemon  # noqa: E402
import vhm_dovecot  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402
import vhm_sasl  # noqa: E402
from vhm_check import check, verdict  # noqa: E402


class tool:
    def __init__(self, binary, config_file):
        self.binary, self.config_file = binary, config_file

    def run(self, *args, stdin=None, json_output=False):
        argv = [self.binary, "-c", self.config_file] + (["--json"] if json_output else [])
        p = subprocess.run(argv + list(args), input=stdin, capture_output=True, text=True,
                           timeout=60, start_new_session=True)  # no controlling terminal
        return p.returncode, p.stdout, p.stderr.strip()

    def ok(self, *args, **kw):
        code, out, err = self.run(*args, **kw)
        check(f"vhostmail {' '.join(args)}", (code, err), (0, ""))
        return out

    def fails(self, want_code, want_text, *args, one_line=True, **kw):
        code, out, err = self.run(*args, **kw)
        check(f"vhostmail {' '.join(args)} -> {want_code}", code, want_code)
        if want_text is not None:
            check(f"  message mentions {want_text!r}", want_text in err, True)
            if one_line and want_code != 2:
                check("  message is one line", err.count("\n"), 0)
        return err


def build_spec_example(t):
    t.ok("domain", "add", "blobber.org")
    t.ok("domain", "add", "mail.blobber.org", "fallback=@blobber.org")
    t.ok("domain", "add", "whopper.nu", "fallback=xandros@blobber.org")
    t.ok("domain", "add", "lala.com", "fallback=@whopper.nu")
    t.ok("address", "add", "xandros@blobber.org", "mailbox=yes", "full_name=Xandros Blob")
    t.ok("address", "add", "vivita@blobber.org", "mailbox=yes")
    t.ok("address", "add", "karl@blobber.org")
    t.ok("address", "forward", "add", "karl@blobber.org", "karl.vovianda@gmail.com")
    t.ok("address", "add", "postmaster@blobber.org")
    t.ok("address", "forward", "add", "postmaster@blobber.org", "postmaster@localhost")


def happy_paths(t, db):  # noqa: C901
    out = t.ok("domain", "list")
    check("domain list shows 4 domains", len(out.strip().splitlines()), 5)
    rows = json.loads(t.ok("domain", "list", json_output=True))
    check("domain list --json", sorted(r["domain"] for r in rows),
          ["blobber.org", "lala.com", "mail.blobber.org", "whopper.nu"])
    blob = [r for r in rows if r["domain"] == "blobber.org"][0]
    check("domain list counts", (blob["mailboxes"], blob["aliases"]), ("2", "2"))
    t.ok("domain", "set", "blobber.org", "max_mailboxes=3", "quota_bytes=1G",
         "logins=smtp,imap", "fullname_matching=yes", "description=Blobber Inc.")
    shown = dict(json.loads(t.ok("domain", "show", "blobber.org", json_output=True)))
    check("domain show after set",
          (shown["max_mailboxes"], shown["quota_bytes"], shown["logins"],
           shown["fullname_matching"], shown["description"]),
          ("3", str(1 << 30), "smtp,imap", "1", "Blobber Inc."))
    t.ok("domain", "alias", "add", "blobber.net", "blobber.org")
    shown = dict(json.loads(t.ok("domain", "show", "blobber.org", json_output=True)))
    check("domain alias shown", shown["domain_aliases"], "blobber.net")
    t.ok("address", "set", "vivita@blobber.org", "quota_bytes=500M", "full_name=Vivita Blob")
    a = dict(json.loads(t.ok("address", "show", "vivita@blobber.org", json_output=True)))
    check("address show", (a["mailbox"], a["maildir"], a["quota_bytes"], a["full_name"]),
          ("yes", "blobber.org/vivita/", str(500 << 20), "Vivita Blob"))
    t.ok("address", "add", "sales@blobber.org")
    t.ok("address", "forward", "add", "sales@blobber.org", "vivita@blobber.org")
    t.ok("address", "grant", "add", "xandros@blobber.org", "sales@blobber.org")
    t.ok("address", "grant", "add", "xandros@blobber.org", "@whopper.nu")
    a = dict(json.loads(t.ok("address", "show", "xandros@blobber.org", json_output=True)))
    check("grants shown", a["may_send_as"], "sales@blobber.org,@whopper.nu")
    t.ok("address", "grant", "remove", "xandros@blobber.org", "@whopper.nu")
    listing = json.loads(t.ok("address", "list", "blobber.org", json_output=True))
    check("address list", [r["address"] for r in listing],
          ["karl@blobber.org", "postmaster@blobber.org", "sales@blobber.org",
           "vivita@blobber.org", "xandros@blobber.org"])
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write("I am away.\nBack on Monday.\n")
        body_file = f.name
    t.ok("vacation", "set", "vivita@blobber.org", "--body-file", body_file,
         "subject=Out of office", "starts_at=2026-01-01", "ends_at=2036-01-01 12:00",
         "interval_seconds=1d")
    v = dict(json.loads(t.ok("vacation", "show", "vivita@blobber.org", json_output=True)))
    check("vacation show", (v["enabled"], v["subject"], v["body"], v["starts_at"],
                            v["ends_at"], v["interval_seconds"]),
          ("yes", "Out of office", "I am away.\nBack on Monday.\n", "2026-01-01 00:00:00",
           "2036-01-01 12:00:00", "86400"))
    t.ok("vacation", "set", "vivita@blobber.org", "--body-stdin", stdin="New text\n")
    v = dict(json.loads(t.ok("vacation", "show", "vivita@blobber.org", json_output=True)))
    check("vacation body from stdin", v["body"], "New text\n")
    t.ok("vacation", "clear", "vivita@blobber.org")
    t.fails(1, "no vacation", "vacation", "show", "vivita@blobber.org")
    t.ok("admin", "add", "vivita@blobber.org", "whopper.nu")
    t.ok("admin", "add", "vivita@blobber.org", "lala.com")
    admins = json.loads(t.ok("admin", "list", json_output=True))
    check("admin list", [(r["domain"], r["admin"]) for r in admins],
          [("lala.com", "vivita@blobber.org"), ("whopper.nu", "vivita@blobber.org")])
    t.fails(1, "already an administrator", "admin", "add", "vivita@blobber.org", "lala.com")
    t.fails(1, "no such address", "admin", "add", "nobody@blobber.org", "lala.com")
    t.fails(1, "no such domain", "admin", "add", "vivita@blobber.org", "nowhere.example")
    t.ok("admin", "remove", "vivita@blobber.org", "lala.com")
    t.fails(1, "not an administrator", "admin", "remove", "vivita@blobber.org", "lala.com")
    check("admin list DOMAIN", len(json.loads(t.ok("admin", "list", "whopper.nu",
                                                    json_output=True))), 1)
    t.ok("admin", "remove", "vivita@blobber.org", "whopper.nu")
    t.ok("address", "forward", "remove", "sales@blobber.org", "vivita@blobber.org")
    t.ok("address", "remove", "sales@blobber.org")
    check("removal cascades to grants",
          db.sql("SELECT COUNT(*) FROM send_grants").strip(), "0")


def passwords(t, db):
    import warnings
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import crypt  # noqa: E402 (deprecated in 3.11, still there; only to verify the hash)
    t.ok("address", "passwd", "xandros@blobber.org", "--stdin", stdin="s3cret pass\n")
    stored = db.sql("SELECT password FROM addresses WHERE local_part = 'xandros'").strip()
    check("passwd stores a SHA512-CRYPT hash", stored.startswith("{SHA512-CRYPT}$6$rounds=20000$"),
          True)
    bare = stored[len("{SHA512-CRYPT}"):]
    check("the hash verifies with crypt(3)", crypt.crypt("s3cret pass", bare), bare)
    check("the hash does not verify a wrong password", crypt.crypt("wrong", bare) == bare, False)
    t.fails(2, None, "address", "passwd", "xandros@blobber.org", "s3cret")
    t.fails(1, "use --stdin", "address", "passwd", "xandros@blobber.org")
    t.fails(1, "no password", "address", "passwd", "xandros@blobber.org", "--stdin", stdin="")
    t.fails(1, "no such address", "address", "passwd", "nobody@blobber.org", "--stdin",
            stdin="x\n")
    t.ok("address", "passwd", "vivita@blobber.org", "--stdin", stdin="other\n")
    t.ok("address", "passwd", "vivita@blobber.org", "--no-password")
    check("--no-password removes it",
          db.sql("SELECT password IS NULL FROM addresses WHERE local_part = 'vivita'").strip(), "1")


def imports(t, db, tmp):
    def write(name, text):
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path

    def counts():
        return db.sql("SELECT (SELECT COUNT(*) FROM addresses), (SELECT COUNT(*) FROM"
                      " forwardings), (SELECT GROUP_CONCAT(fallback ORDER BY name) FROM domains)")

    aliases = write("aliases", "# sample /etc/aliases\ninfo: anna@example.org,\n"
                               "  xandros@blobber.org\nsales: info\n")
    before = counts()
    out = t.ok("import", "aliases", aliases, "--domain", "whopper.nu", "--dry-run")
    check("import --dry-run shows the plan", "would forward sales@whopper.nu -> info@whopper.nu"
          in out, True)
    check("import --dry-run changes nothing", counts(), before)
    t.ok("import", "aliases", aliases, "--domain", "whopper.nu")
    check("import created the aliases",
          db.sql("SELECT GROUP_CONCAT(CONCAT(a.local_part, '>', f.destination) ORDER BY 1)"
                 " FROM forwardings f JOIN addresses a ON a.id = f.address_id JOIN domains d"
                 " ON d.id = a.domain_id WHERE d.name = 'whopper.nu'").strip(),
          "info>anna@example.org,info>xandros@blobber.org,sales>info@whopper.nu")
    out = t.ok("import", "aliases", aliases, "--domain", "whopper.nu")
    check("re-import is idempotent", "0 change(s)" in out, True)
    virtual = write("virtual", "team@lala.com  xandros@blobber.org, vivita@blobber.org\n"
                               "@lala.com      xandros@blobber.org\n")
    t.ok("import", "aliases", virtual, "--format", "virtual")
    check("virtual import sets the catch-all",
          db.sql("SELECT fallback FROM domains WHERE name = 'lala.com'").strip(),
          "xandros@blobber.org")
    db.sql("UPDATE domains SET fallback = '@whopper.nu' WHERE name = 'lala.com'")
    before = counts()
    bad = write("bad", "ok: xandros@blobber.org\nprog: |/usr/bin/vacation\n")
    err = t.fails(1, "nothing imported", "import", "aliases", bad, "--domain", "whopper.nu",
                  one_line=False)
    check("import names the refused line", "line 2:" in err, True)
    half = write("half", "new1: xandros@blobber.org\nnew2@nowhere.example: x@y.z\n")
    t.fails(1, "line 2", "import", "aliases", half, "--domain", "whopper.nu")
    check("a failed import leaves nothing behind", counts(), before)
    t.fails(1, "give --domain", "import", "aliases", aliases)


def error_paths(t, db):
    before = db.sql("SELECT (SELECT COUNT(*) FROM domains), (SELECT COUNT(*) FROM addresses),"
                    " (SELECT COUNT(*) FROM forwardings)")
    t.fails(1, "already exists", "domain", "add", "blobber.org")
    t.fails(1, "already exists", "domain", "add", "BLOBBER.ORG")
    t.fails(1, "invalid domain", "domain", "add", "bad..name")
    t.fails(1, "no such domain", "domain", "show", "nowhere.example")
    t.fails(1, "no such domain", "domain", "remove", "nowhere.example")
    t.fails(1, "unknown setting", "domain", "set", "blobber.org", "colour=blue")
    t.fails(1, "expected a number", "domain", "set", "blobber.org", "max_mailboxes=many")
    t.fails(1, "expected yes or no", "domain", "set", "blobber.org", "enabled=perhaps")
    t.fails(1, "bad value for fallback", "domain", "set", "blobber.org", "fallback=a b c")
    t.fails(1, "bad value for logins", "domain", "set", "blobber.org", "logins=ftp")
    t.fails(2, None, "domain", "set", "blobber.org", "novalue")
    t.fails(1, "already a domain", "domain", "alias", "add", "lala.com", "blobber.org")
    t.fails(1, "already exists", "domain", "alias", "add", "blobber.net", "blobber.org")
    # By hand too: a rename cannot make a name both a domain and a domain alias (0009).
    for sql, what in (("UPDATE domains SET name = 'blobber.net' WHERE name = 'lala.com'",
                       "already a domain alias"),
                      ("UPDATE domain_aliases SET name = 'lala.com' WHERE name = 'blobber.net'",
                       "already a domain")):
        try:
            db.sql(sql)
            refused = ""
        except vhm_mariadb.MariaDBError as e:
            refused = str(e)
        check("refused by hand: " + sql, what in refused, True)
    t.fails(1, "already exists", "address", "add", "xandros@blobber.org")
    t.fails(1, "already exists", "address", "add", "Xandros@Blobber.ORG")
    t.fails(1, "not hosted", "address", "add", "joe@example.com")
    t.fails(1, "domain alias", "address", "add", "joe@blobber.net")
    t.fails(1, "invalid address", "address", "add", "no-at-sign")
    t.fails(1, "invalid address", "address", "add", "a b\x01@blobber.org")
    t.fails(1, "no such address", "address", "show", "nobody@blobber.org")
    db.sql("UPDATE domains SET max_mailboxes = 2 WHERE name = 'blobber.org'")
    t.fails(1, "limit reached", "address", "add", "third@blobber.org", "mailbox=yes")
    t.fails(1, "limit reached", "address", "set", "karl@blobber.org", "mailbox=yes")
    t.fails(1, "invalid destination", "address", "forward", "add", "karl@blobber.org", "x")
    t.fails(1, "karl@blobber.org already forwards to", "address", "forward", "add", "karl@blobber.org",
            "karl.vovianda@gmail.com")
    t.fails(1, "invalid grant target", "address", "grant", "add", "xandros@blobber.org", "x")
    t.fails(1, "bad value for maildir", "address", "set", "karl@blobber.org",
            "maildir=../../etc")
    t.fails(1, "ends_at must be after", "vacation", "set", "xandros@blobber.org",
            "starts_at=2030-01-02", "ends_at=2030-01-01")
    t.fails(2, None, "domain", "add")
    t.fails(2, None, "address", "remove", "a@b.c", "extra")
    t.fails(2, "unknown command", "frobnicate")
    code, out, _ = t.run("domain", "--help")
    check("vhostmail domain --help", (code, "domain alias add" in out), (0, True))
    code, out, _ = t.run("address", "grant", "add", "--help")
    check("vhostmail address grant add --help", (code, "usage:" in out), (0, True))
    after = db.sql("SELECT (SELECT COUNT(*) FROM domains), (SELECT COUNT(*) FROM addresses),"
                   " (SELECT COUNT(*) FROM forwardings)")
    check("failed commands changed nothing", after, before)
    # A vacation set that fails validation must not leave a half-made vacation row.
    check("failed vacation left no row",
          db.sql("SELECT COUNT(*) FROM vacations").strip(), "0")


def resolve_agrees_with_lookupd(t, db, lookupd, tmp):
    conf = vhm_postfix.client_config_dir(tmp)
    port = vhm_postfix.free_port()
    config = (vhm_daemon.base_config(db, tmp) + "lookupd_socketmap_listen =\n"
              f"lookupd_tcp_listen = aliases=127.0.0.1:{port}\n")
    with vhm_daemon.daemon(lookupd, config, tmp, name="lookupd") as d:
        d.wait_for_log("routing data loaded")
        for key in ("john@whopper.nu", "julian@lala.com", "vivita@mail.blobber.org",
                    "nobody@mail.blobber.org", "karl@blobber.org", "julian@blobber.org",
                    "xandros@blobber.org", "Xandros+x@Blobber.org", "vivita@blobber.net",
                    "xandros.blob@blobber.org"):
            code, out, err = t.run("resolve", key, json_output=True)
            r = json.loads(out)
            pm = vhm_postfix.postmap_query(conf, key, f"tcp:127.0.0.1:{port}")
            want = pm.value if pm.status == "found" else "(not found)"
            check(f"resolve {key} agrees with lookupd", r["lookupd"]["aliases"], want)
            deliverable = r["result"] == "deliverable"
            check(f"resolve {key} exit status", code, 0 if deliverable else 1)
    code, out, _ = t.run("resolve", "john@whopper.nu")
    check("resolve explains the catch-all",
          ("fallback of whopper.nu" in out, "mailbox   xandros@blobber.org" in out), (True, True))


def cli_details(t, db):
    """The small things an admin meets first (issue 14 item 7)."""
    t.ok("address", "add", "multi@blobber.org")
    out = t.ok("address", "forward", "add", "multi@blobber.org", "a@remote.example",
               "b@remote.example", "c@remote.example")
    check("forward add: several destinations at once", "a@remote.example, b@remote.example and"
          " c@remote.example" in out, True)
    err = t.fails(1, "multi@blobber.org already forwards to b@remote.example", "address",
                  "forward", "add", "multi@blobber.org", "d@remote.example", "b@remote.example")
    check("forward add: all or none", db.sql(
        "SELECT COUNT(*) FROM forwardings f JOIN addresses a ON a.id = f.address_id"
        " WHERE a.local_part = 'multi'").strip(), "3")
    t.ok("address", "forward", "remove", "multi@blobber.org", "a@remote.example",
         "b@remote.example")
    t.fails(1, "multi@blobber.org does not forward to a@remote.example", "address", "forward",
            "remove", "multi@blobber.org", "a@remote.example")
    err = t.fails(2, None, "domain", "frob", "x")
    check("unknown command: names the wrong word",
          err.splitlines()[0], 'vhostmail: unknown command "domain frob": "frob" is not one of'
                               ' the domain commands')
    code, out, _ = t.run("domain", "--help")
    check("domain --help lists the settings",
          (code, "settings (name=value):" in out, "max_mailboxes" in out), (0, True, True))
    with open(os.path.join(os.path.dirname(t.config_file), "body.txt"), "w") as f:
        f.write("Line one.\nLine two.\n")
    t.ok("vacation", "set", "multi@blobber.org", "subject=Away", "--body-file",
         os.path.join(os.path.dirname(t.config_file), "body.txt"))
    out = t.ok("vacation", "show", "multi@blobber.org")
    check("vacation show keeps the body's lines", ("Line one." in out, "?Line two" in out,
                                                   "\n" in out.split("Line one.")[1]),
          (True, False, True))
    sha = ("{SHA512-CRYPT}$6$rounds=5000$saltsaltsalt$FIkm4nows86Wa4BHt/6WqdWddX3U6/IuAYaTADrl"
           "sjPUEORAc.b/txZTGlzgCzHRrK.Ihww7q/OVtIBQ5ARQB0")
    t.ok("address", "passwd", "multi@blobber.org", "--hash", sha)
    check("passwd --hash stores the hash as given", db.sql(
        "SELECT password FROM addresses WHERE local_part = 'multi'").strip(), sha)
    t.ok("address", "passwd", "multi@blobber.org", "--hash", "-",
         stdin="$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1\n")
    for bad in ("secret", "{PLAIN}secret", "$6$broken", "{NOPE}xyz"):
        t.fails(1, "not a password hash authd can verify", "address", "passwd",
                "multi@blobber.org", "--hash", bad)
    check("passwd --hash: refusals changed nothing", db.sql(
        "SELECT password FROM addresses WHERE local_part = 'multi'").strip(),
          "$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1")
    t.ok("address", "remove", "multi@blobber.org")


def check_command(t, db):
    code, out, _ = t.run("check")
    check("check finds missing postmaster/abuse",
          ("abuse@blobber.org has no destination" in out,
           "postmaster@blobber.org has no destination" in out), (True, False))
    check("check exit 1 when problems", code, 1)
    t.ok("address", "add", "ghostfw@blobber.org")
    t.ok("address", "forward", "add", "ghostfw@blobber.org", "ghost@blobber.org")
    t.ok("address", "add", "loopa@whopper.nu")
    t.ok("address", "add", "loopb@whopper.nu")
    t.ok("address", "forward", "add", "loopa@whopper.nu", "loopb@whopper.nu")
    t.ok("address", "forward", "add", "loopb@whopper.nu", "loopa@whopper.nu")
    problems = json.loads(t.run("check", json_output=True)[1])["problems"]
    check("check finds a forwarding to a missing address",
          "ghostfw@blobber.org forwards to ghost@blobber.org, which does not exist" in problems,
          True)
    check("check finds an alias loop", any("loop" in p and "loopa@whopper.nu" in p
                                           for p in problems), True)
    check("check names the loop, not a missing address",
          [p for p in problems if p.startswith("loopa@whopper.nu forwards to")],
          ["loopa@whopper.nu forwards to loopb@whopper.nu, which leads nowhere: alias loop at"
           " loopb@whopper.nu"])
    t.ok("address", "add", "offfw@blobber.org")
    t.ok("address", "add", "off@blobber.org", "enabled=no")
    t.ok("address", "forward", "add", "offfw@blobber.org", "off@blobber.org")
    problems = json.loads(t.run("check", json_output=True)[1])["problems"]
    check("check names a disabled destination as disabled",
          "offfw@blobber.org forwards to off@blobber.org, which leads nowhere: address"
          " off@blobber.org is disabled" in problems, True)
    for a in ("offfw@blobber.org", "off@blobber.org"):
        t.ok("address", "remove", a)
    for d in ("blobber.org", "mail.blobber.org", "whopper.nu", "lala.com"):
        for role in ("postmaster", "abuse"):
            t.run("address", "add", f"{role}@{d}")
            t.run("address", "forward", "add", f"{role}@{d}", "xandros@blobber.org")
    for a in ("ghostfw@blobber.org", "loopa@whopper.nu", "loopb@whopper.nu"):
        t.ok("address", "remove", a)
    code, out, _ = t.run("check")
    check("check is clean after fixing", (code, out.strip().splitlines()[-1]),
          (0, "0 problems found"))
    daemons_config(t)
    over_quota(t, db)


def daemons_config(t):
    """check validates every daemon's parameters with the daemons' own declarations: what would
    make a daemon exit 78 at its next start is an error here, with file and line."""
    bad = os.path.join(os.path.dirname(t.config_file), "daemons-typos.cf")
    with open(t.config_file) as f:
        base = f.read()
    with open(bad, "w") as f:
        f.write(base + "lookupd_max_client = 5\nlmtpd_max_recipients = 0\n")
    os.chmod(bad, 0o640)
    lines = base.count("\n")
    code, out, _ = tool(t.binary, bad).run("check")
    check("check: the daemons' parameters are checked, with file and line",
          (code, f"{bad}:{lines + 1}: unknown parameter \"lookupd_max_client\"" in out,
           f"{bad}:{lines + 2}:" in out and "lmtpd_max_recipients" in out), (1, True, True))
    with open(bad, "w") as f:
        f.write(base + "policyd_mx_checks = sender_login bogus\n")
    code, out, _ = tool(t.binary, bad).run("check")
    check("check: and cross-checked as each daemon does at start",
          (code, "unknown check \"bogus\"" in out), (1, True))


def over_quota(t, db):
    """check warns about mailboxes at or over quota (newest mailbox_usage row, own or domain
    quota, bytes and messages), and warnings alone leave the exit status 0."""
    t.ok("address", "set", "xandros@blobber.org", "quota_messages=5")
    ids = dict(line.split("\t") for line in db.sql(
        "SELECT local_part, id FROM addresses WHERE local_part IN ('vivita', 'xandros')"
        " AND domain_id = (SELECT id FROM domains WHERE name = 'blobber.org')").splitlines())
    db.sql(f"INSERT INTO mailbox_usage (address_id, node, bytes, messages, updated_at) VALUES"
           f" ({ids['vivita']}, 'mx1', 629145600, 3, NOW(6)),"
           f" ({ids['vivita']}, 'mx2', 1, 1, NOW(6) - INTERVAL 1 HOUR),"
           f" ({ids['xandros']}, 'mx1', 99999999999, 99, NOW(6) - INTERVAL 1 HOUR),"
           f" ({ids['xandros']}, 'mx2', 1048576, 7, NOW(6))")
    code, out, _ = t.run("check", json_output=True)
    findings = json.loads(out)["findings"]
    check("check: over quota in bytes (own quota) and messages, newest row only",
          (code, findings),
          (0, [{"severity": "warning",
                "message": "vivita@blobber.org is over quota: 600.0 MiB of 500.0 MiB"},
               {"severity": "warning",
                "message": "xandros@blobber.org is over quota: 7 of 5 messages"}]))
    code, out, _ = t.run("check")
    check("check: warnings are marked and counted", (code, out.strip().splitlines()[-1]),
          (0, "2 problems found (0 errors, 2 warnings)"))
    db.sql("DELETE FROM mailbox_usage")
    t.ok("address", "set", "xandros@blobber.org", "quota_messages=0")


GOOD_MAIN = {
    "compatibility_level": "3.6",
    "mydestination": "localhost",
    "smtpd_relay_restrictions": "permit_mynetworks, permit_sasl_authenticated,"
                                " reject_unauth_destination",
    "virtual_transport": "lmtp:unix:private/vhm-lmtp",
}
GOOD_SUBMISSION = ("submission inet n - y - - smtpd\n"
                   "  -o smtpd_sasl_auth_enable=yes\n"
                   "  -o smtpd_recipient_restrictions=permit_sasl_authenticated,reject\n")


def postfix_dir(tmp, name, source, snippet="main.cf.lookup", changes=None,
                submission=GOOD_SUBMISSION):
    """A Postfix config dir (main.cf + master.cf) made of our snippets, with changes."""
    d = os.path.join(tmp, "pf-" + name)
    os.makedirs(d, exist_ok=True)
    params = {}
    for part in (snippet, "main.cf.sasl"):
        with open(os.path.join(source, "postfix-snippets", part)) as f:
            for line in f:
                if "=" in line and not line.startswith(("#", " ")):
                    k, _, v = line.partition("=")
                    params[k.strip()] = v.strip()
    params.update(GOOD_MAIN)
    params.update(changes or {})
    with open(os.path.join(d, "main.cf"), "w") as f:
        f.write("".join(f"{k} = {v}\n" for k, v in params.items() if v is not None))
    with open(os.path.join(d, "master.cf"), "w") as f:
        f.write("smtp inet n - y - - smtpd\n" + submission)
    return d


def check_postfix(t, tmp, source):
    for snippet in ("main.cf.lookup", "main.cf.lookup-socketmap"):
        d = postfix_dir(tmp, "good-" + snippet, source, snippet)
        code, out, _ = t.run("check", "--postfix", d)
        check(f"check --postfix: {snippet} as shipped is clean", (code, out.strip()),
              (0, "0 problems found"))
    sub_no_auth = "submission inet n - y - - smtpd\n  -o smtpd_recipient_restrictions=" \
                  "permit_sasl_authenticated,reject\n"
    sub_no_permit = "submission inet n - y - - smtpd\n  -o smtpd_sasl_auth_enable=yes\n" \
                    "  -o smtpd_relay_restrictions=permit_mynetworks,reject\n"
    mistakes = [
        ("no-alias-map", {"virtual_alias_maps": None}, None, "error",
         "virtual_alias_maps does not use vhostmail-lookupd's aliases map (expected"
         " tcp:127.0.0.1:10042 or socketmap:inet:127.0.0.1:10040:aliases)"),
        ("swapped", {"virtual_alias_maps": "tcp:127.0.0.1:10043"}, None, "error",
         "virtual_alias_maps = tcp:127.0.0.1:10043 asks lookupd's mailboxes map, not aliases"),
        ("wrong-port", {"virtual_mailbox_maps": "tcp:127.0.0.1:19999"}, None, "error",
         "virtual_mailbox_maps = tcp:127.0.0.1:19999: no vhostmail-lookupd listener there"),
        ("socketmap-name", {"virtual_mailbox_maps": "socketmap:inet:127.0.0.1:10040:aliases"},
         None, "error", "virtual_mailbox_maps = socketmap:inet:127.0.0.1:10040:aliases asks"
                        " lookupd's aliases map, not mailboxes"),
        ("shadowed", {"virtual_alias_maps": "hash:/etc/postfix/virtual, tcp:127.0.0.1:10042"},
         None, "warning", "virtual_alias_maps: hash:/etc/postfix/virtual come(s) before"
                          " vhostmail-lookupd and answer first"),
        ("no-senders", {"smtpd_sender_login_maps": None}, None, "warning",
         "smtpd_sender_login_maps does not use vhostmail-lookupd's senders map"),
        ("mydestination", {"mydestination": "localhost, Blobber.org"}, None, "error",
         "blobber.org is hosted by vhostmail and also listed in mydestination"),
        ("alias-domain", {"virtual_alias_domains": "blobber.net"}, None, "error",
         "blobber.net is hosted by vhostmail and also listed in virtual_alias_domains"),
        ("open-relay", {"smtpd_relay_restrictions": "permit_mynetworks, permit"}, None, "error",
         "neither smtpd_relay_restrictions nor smtpd_recipient_restrictions has"
         " reject_unauth_destination"),
        ("submission-no-auth", {}, sub_no_auth, "error",
         "master.cf service submission accepts submissions without SMTP AUTH"),
        ("submission-no-permit", {}, sub_no_permit, "error",
         "master.cf service submission has no permit_sasl_authenticated"),
        ("sasl-path", {"smtpd_sasl_path": "private/auth"}, None, "warning",
         "master.cf service submission: smtpd_sasl_path = private/auth is not vhostmail-authd's"
         " socket (authd_dovecot_listen = unix:/var/spool/postfix/private/vhostmail-auth)"),
        ("lmtp", {"virtual_transport": "lmtp:unix:private/dovecot-lmtp"}, None, "error",
         "virtual_transport = lmtp:unix:private/dovecot-lmtp does not reach vhostmail-lmtpd"),
    ]
    for name, changes, submission, severity, want in mistakes:
        d = postfix_dir(tmp, name, source, changes=changes,
                        submission=submission if submission is not None else GOOD_SUBMISSION)
        code, out, _ = t.run("check", "--postfix", d, json_output=True)
        findings = json.loads(out)["findings"]
        check(f"check --postfix finds {name}",
              [(f["severity"], want in f["message"] or f["message"]) for f in findings],
              [(severity, True)])
        check(f"check --postfix {name}: exit status", code, 1 if severity == "error" else 0)
    code, out, err = t.run("check", "--postfix", os.path.join(tmp, "no-such-dir"))
    check("check --postfix with a bad DIR is an error",
          (code, "error: cannot run /usr/sbin/postconf -c" in out), (1, True))


def domain_admins(t, db, admin_binary, tmp):
    """--as LOGIN: a domain administrator manages their own domains and nothing else."""
    t.ok("address", "add", "boss@blobber.org")
    t.ok("address", "passwd", "boss@blobber.org", "--stdin", stdin="b0ss pass\n")
    t.ok("admin", "add", "boss@blobber.org", "blobber.org")

    def as_boss(password="b0ss pass", login="boss@blobber.org"):
        return ("--as", login, "--password-stdin"), password + "\n"

    opts, pw = as_boss()
    t.ok(*opts, "address", "add", "newbie@blobber.org", stdin=pw)
    t.ok(*opts, "address", "forward", "add", "newbie@blobber.org", "xandros@blobber.org",
         stdin=pw)
    t.ok(*opts, "address", "passwd", "newbie@blobber.org", "--stdin", stdin=pw + "newbie pw\n")
    check("--as: the second stdin line is the new password",
          db.sql("SELECT password LIKE '{SHA512-CRYPT}%' FROM addresses"
                 " WHERE local_part = 'newbie'").strip(), "1")
    t.ok(*opts, "domain", "set", "blobber.org", "description=Boss's domain", stdin=pw)
    listing = json.loads(t.ok(*opts, "domain", "list", json_output=True, stdin=pw))
    check("--as: domain list shows only own domains", [r["domain"] for r in listing],
          ["blobber.org"])
    admins = json.loads(t.ok(*opts, "admin", "list", json_output=True, stdin=pw))
    check("--as: admin list shows only own domains", {r["domain"] for r in admins},
          {"blobber.org"})
    before = db.sql("SELECT (SELECT COUNT(*) FROM domains), (SELECT COUNT(*) FROM addresses),"
                    " (SELECT COUNT(*) FROM forwardings), (SELECT COUNT(*) FROM send_grants),"
                    " (SELECT GROUP_CONCAT(CONCAT(name, max_mailboxes, fallback)) FROM domains)")
    refusals = [
        ("does not administer whopper.nu", ("address", "add", "intruder@whopper.nu")),
        ("does not administer whopper.nu", ("address", "show", "xandros@whopper.nu")),
        ("does not administer whopper.nu", ("address", "list", "whopper.nu")),
        ("does not administer whopper.nu", ("domain", "show", "whopper.nu")),
        ("does not administer whopper.nu", ("address", "grant", "add", "newbie@blobber.org",
                                            "@whopper.nu")),
        ("does not administer lala.com", ("resolve", "julian@lala.com")),
        ("is for the superadmin", ("domain", "add", "mine.example")),
        ("is for the superadmin", ("domain", "remove", "blobber.org")),
        ("is for the superadmin", ("domain", "alias", "add", "mine.example", "blobber.org")),
        ("is for the superadmin", ("domain", "set", "blobber.org", "max_mailboxes=1000")),
        ("is for the superadmin", ("domain", "set", "blobber.org", "fallback=|/bin/sh")),
        ("is for the superadmin", ("address", "set", "newbie@blobber.org",
                                   "maildir=whopper.nu/john/")),
        ("is for the superadmin", ("admin", "add", "newbie@blobber.org", "blobber.org")),
        ("is for the superadmin", ("db", "migrate")),
    ]
    for want, args in refusals:
        t.fails(1, want, *opts, *args, stdin=pw)
    aliases = os.path.join(tmp, "boss-aliases")
    with open(aliases, "w") as f:
        f.write("ok@blobber.org: xandros@blobber.org\nsneaky@whopper.nu: boss@blobber.org\n")
    t.fails(1, "does not administer whopper.nu", *opts, "import", "aliases", aliases,
            stdin=pw)
    check("--as: refusals changed nothing", db.sql(
        "SELECT (SELECT COUNT(*) FROM domains), (SELECT COUNT(*) FROM addresses),"
        " (SELECT COUNT(*) FROM forwardings), (SELECT COUNT(*) FROM send_grants),"
        " (SELECT GROUP_CONCAT(CONCAT(name, max_mailboxes, fallback)) FROM domains)"), before)
    t.ok(*opts, "resolve", "newbie@blobber.org", stdin=pw)
    t.ok("address", "remove", "abuse@whopper.nu")
    code, out, _ = t.run(*opts, "check", stdin=pw)
    check("--as: check looks at own domains only", ("whopper.nu" in out, code), (False, 0))
    for label, (o, p) in {"wrong password": as_boss("wrong"),
                          "unknown login": as_boss("b0ss pass", "ghost@blobber.org"),
                          "login without a password": as_boss("x", "karl@blobber.org"),
                          "not a login": as_boss("x", "not-an-address")}.items():
        err = t.fails(1, "authentication failed", *o, "domain", "list", stdin=p)
        check(f"--as {label}: the same one line", err.startswith("vhostmail: authentication"
                                                                  " failed for "), True)
    t.fails(1, "authentication failed", *as_boss("b0ss pass", "boss@blobber.org")[0],
            "domain", "list", stdin="b0ss pas\n")
    opts_n, pw_n = as_boss("newbie pw", "newbie@blobber.org")
    # A right password of an address that administers nothing: the same answer as a wrong one.
    t.fails(1, "authentication failed", *opts_n, "domain", "list", stdin=pw_n)
    t.fails(2, "--password-stdin", "--password-stdin", "domain", "list")
    t.ok("address", "add", "abuse@whopper.nu")
    t.ok("address", "forward", "add", "abuse@whopper.nu", "xandros@blobber.org")
    set_group_id_install(admin_binary, tmp)


def set_group_id_install(admin_binary, tmp):
    """Installed set-group-id, the tool takes no -c/-o from its caller and wants --as."""
    import grp
    import pwd
    import shutil
    copy = os.path.join(tmp, "vhostmail-setgid")
    shutil.copy(admin_binary, copy)
    os.chown(copy, 0, grp.getgrnam("mail").gr_gid)
    os.chmod(copy, 0o2755)
    nobody = pwd.getpwnam("nobody")

    def as_nobody():
        os.setgroups([])
        os.setgid(nobody.pw_gid)
        os.setuid(nobody.pw_uid)

    def run(*args):
        p = subprocess.run([copy] + list(args), capture_output=True, text=True, timeout=60,
                           preexec_fn=as_nobody, cwd=tmp, env={})
        lines = p.stderr.splitlines()
        code = p.returncode
        # A sanitizer build: LeakSanitizer cannot inspect a set-id process (not dumpable) and
        # turns the exit status into 1 after our message. The message is what we check then.
        if code == 1 and any("LeakSanitizer has encountered a fatal error" in x for x in lines):
            code = 2
        return code, lines[0] if lines else ""

    check("set-group-id: no --as is refused", run("domain", "list"),
          (2, "vhostmail: domain administrators sign in with --as LOGIN"))
    check("set-group-id: -c is refused", run("-c", "/tmp/x.cf", "--as", "a@b.c", "domain", "list"),
          (2, "vhostmail: -c is not allowed for domain administrators"))
    check("set-group-id: -o is refused", run("-o", "db_user=root", "domain", "list"),
          (2, "vhostmail: -o is not allowed for domain administrators"))


def imported(db, domains):
    """The imported data of some domains, as one comparable text."""
    names = ",".join(f"'{d}'" for d in domains)
    return db.sql(
        "SELECT d.name, d.enabled, d.description, COALESCE(d.max_mailboxes, ''),"
        " COALESCE(d.max_aliases, ''), COALESCE(d.quota_bytes, ''), d.fallback,"
        " COALESCE((SELECT GROUP_CONCAT(x.name) FROM domain_aliases x WHERE x.domain_id = d.id),"
        " ''), COALESCE((SELECT GROUP_CONCAT(CONCAT_WS('|', a.local_part, a.enabled, a.mailbox,"
        " COALESCE(a.maildir, '-'), COALESCE(a.quota_bytes, '-'), a.full_name,"
        " COALESCE(a.password, '-'), COALESCE((SELECT GROUP_CONCAT(f.destination ORDER BY"
        " f.destination) FROM forwardings f WHERE f.address_id = a.id), '-'),"
        " COALESCE((SELECT CONCAT_WS('|', v.enabled, v.subject, v.body, v.starts_at, v.ends_at)"
        " FROM vacations v WHERE v.address_id = a.id), '-'),"
        " COALESCE((SELECT GROUP_CONCAT(t.name) FROM domain_admins x JOIN domains t ON"
        " t.id = x.domain_id WHERE x.address_id = a.id), '-')) ORDER BY a.local_part"
        " SEPARATOR ';') FROM addresses a WHERE a.domain_id = d.id), '')"
        f" FROM domains d WHERE d.name IN ({names}) ORDER BY d.name")


def totals(db):
    return db.sql("SELECT (SELECT COUNT(*) FROM domains), (SELECT COUNT(*) FROM addresses),"
                  " (SELECT COUNT(*) FROM forwardings), (SELECT COUNT(*) FROM domain_aliases),"
                  " (SELECT COUNT(*) FROM vacations), (SELECT COUNT(*) FROM domain_admins)")


def signs_in(t, login, password):
    code, _, err = t.run("--as", login, "--password-stdin", "domain", "list",
                         stdin=password + "\n")
    return code, err


def import_howto(t, db, here):
    dump = os.path.join(here, "howto_sample.sql")
    domains = ("howto.example", "lists.howto.example")
    before = totals(db)
    out = t.ok("import", "howto", "--from-dump", dump, "--dry-run")
    check("import howto --dry-run shows the plan",
          ("would add domain howto.example" in out, "would forward info@howto.example ->"
           " boss@elsewhere.example" in out, "skip transport: 1 row(s)" in out),
          (True, True, True))
    check("import howto --dry-run changes nothing", totals(db), before)
    out = t.ok("import", "howto", "--from-dump", dump)
    from_dump = imported(db, domains)
    check("import howto from a dump", from_dump.splitlines(), [
        "howto.example\t1\t\t\t\t\t\t\t"
        "anna|1|1|-|10485760||Xy3qwPYhZvUes|anna.backup@mail.example|-|-;"
        "bert|1|1|-|0||$1$abcdefgh$uuYZx3j9lFDZkJ8so.M6t1|-|-|-;"
        "info|1|0|-|-||-|anna@howto.example,boss@elsewhere.example|-|-",
        "lists.howto.example\t1\t\t\t\t\tanna@howto.example\t\t"])
    after = totals(db)
    err = t.fails(1, "nothing imported", "import", "howto", "--from-dump", dump)
    check("import howto again: the duplicate is named", "already exists" in err, True)
    check("a conflicting import imports nothing", totals(db), after)
    t.ok("admin", "add", "anna@howto.example", "howto.example")
    t.ok("admin", "add", "bert@howto.example", "howto.example")
    check("imported DES crypt hash verifies", signs_in(t, "anna@howto.example", "des pass"),
          (0, ""))
    check("imported md5crypt hash verifies", signs_in(t, "bert@howto.example", "md5 pass"),
          (0, ""))
    check("imported hash refuses a wrong password",
          signs_in(t, "bert@howto.example", "md5 pas")[0], 1)
    for d in domains:
        t.ok("domain", "remove", d)
    db.sql("CREATE DATABASE howto_src")
    db.load_file(dump, database="howto_src")
    db.sql("GRANT SELECT ON howto_src.* TO 'vhm_test'@'localhost'")
    out = t.ok("import", "howto", "--from-db", "howto_src")
    check("import howto from a database = from its dump", imported(db, domains), from_dump)
    t.fails(1, "invalid database name", "import", "howto", "--from-db", "x`; DROP")
    t.fails(1, "no howto tables", "import", "howto", "--from-db", "vhostmail")
    t.fails(2, None, "import", "howto", "--from-db", "a", "--from-dump", "b")
    for d in domains:
        t.ok("domain", "remove", d)


def postfixadmin_logins(dump):
    """{login: (password, stored hash, active)} from the header and the mailbox and admin rows
    of make_postfixadmin_sample.py's dump."""
    with open(dump) as f:
        text = f.read()
    passwords = dict(re.findall(r'^--   (\S+): "([^"]*)"', text, re.M))
    rows = {}
    for table, active_column in (("mailbox", 9), ("admin", 4)):  # 0-based, in the INSERT rows
        block = re.search(rf"INSERT INTO `{table}` VALUES\n(.*?);\n", text, re.S).group(1)
        for row in block.splitlines():
            values = row.strip("(),").split(",")
            login, stored = values[0].strip("'"), values[1].strip("'")
            rows[login] = (passwords[login], stored, values[active_column] == "1")
    return rows


def import_postfixadmin(t, db, authd, here, tmp):
    """A dump that PostfixAdmin 3.3 wrote itself (make_postfixadmin_sample.py) imports
    completely, and its users log in through authd and through Dovecot."""
    dump = os.path.join(here, "postfixadmin_sample.sql")
    logins = postfixadmin_logins(dump)
    schemes = {login: re.match(r"(\{[A-Z0-9.-]+\}|\$[0-9a-z]+\$|[0-9a-f]{32}$)", v[1]).group(1)
               for login, v in logins.items()}
    check("the sample holds the password schemes PostfixAdmin writes", schemes, {
        "carl@pfa.example": "$1$", "dora@pfa.example": "{SHA512-CRYPT}",
        "erin@pfa.example": "{SHA512-CRYPT.B64}", "frank@pfa.example": "$6$",
        "gina@pfa.example": "$2y$", "hugo@pfa.example": logins["hugo@pfa.example"][1],
        "ida@other.example": "{SSHA512}", "boss@pfa.example": "$1$",
        "root@admin.example": "$1$"})
    domains = ("other.example", "pfa.example")
    t.ok("domain", "add", "pfa-alias.example")
    before = totals(db)
    err = t.fails(1, "nothing imported", "import", "postfixadmin", "--from-dump", dump)
    check("postfixadmin conflict names the row", "alias_domain pfa-alias.example" in err, True)
    check("postfixadmin conflict imports nothing (not even the domains before it)",
          totals(db), before)
    t.ok("domain", "remove", "pfa-alias.example")
    before = totals(db)
    plan = t.ok("import", "postfixadmin", "--from-dump", dump, "--dry-run")
    check("import postfixadmin --dry-run changes nothing", totals(db), before)
    check("dry-run lines read as sentences",
          ("would set the vacation of carl@pfa.example" in plan,
           "would make boss@pfa.example an administrator of pfa.example" in plan,
           "would vacation" in plan or "would boss" in plan), (True, True, False))
    out = t.ok("import", "postfixadmin", "--from-dump", dump)
    for line in ("add domain alias pfa-alias.example -> pfa.example",
                 "skip old-alias.example -> pfa.example: an inactive domain alias",
                 "skip postmaster@pfa-alias.example -> postmaster@mail.example: an address in the"
                 " domain alias pfa-alias.example (mail to it follows the alias to pfa.example)",
                 "skip backup.example: a backup MX domain",
                 "skip pfa.example: its total quota of 2048 MB",
                 "skip root@admin.example: a PostfixAdmin superadmin",
                 "skip carl@pfa.example -> carl#pfa.example@autoreply.mail.example"):
        check(f"import postfixadmin says: {line}", line in out, True)
    check("import postfixadmin: no second domain for an alias domain",
          db.sql("SELECT COUNT(*) FROM domains WHERE name LIKE '%alias.example'").strip(), "0")
    h = {login: v[1] for login, v in logins.items()}
    from_dump = imported(db, domains)
    check("import postfixadmin from a dump", from_dump.splitlines(), [
        "other.example\t1\tOther\t\t\t\t\t\t"
        "abuse|1|0|-|-||-|abuse@mail.example|-|-;"
        "hostmaster|1|0|-|-||-|hostmaster@mail.example|-|-;"
        f"ida|1|1|other.example/ida/|0|Ida|{h['ida@other.example']}|-|-|-;"
        "postmaster|1|0|-|-||-|postmaster@mail.example|-|-;"
        "webmaster|1|0|-|-||-|webmaster@mail.example|-|-",
        "pfa.example\t1\tCarl's \"club\"\t8\t12\t102400000\tsales@pfa.example"
        "\tpfa-alias.example\t"
        "abuse|1|0|-|-||-|abuse@mail.example|-|-;"
        f"boss|1|0|-|-||{h['boss@pfa.example']}|-|-|other.example,pfa.example;"
        f"carl|1|1|pfa.example/carl/|102400000|Carl Pfa|{h['carl@pfa.example']}|-"
        "|1|Away; back soon|I am away.\\nWrite to 'sales' meanwhile.\\n\\n-- \\nCarl\\n"
        "|2026-01-01 00:00:00|2035-12-31 23:59:00|-;"
        f"dora|1|1|pfa.example/dora/|51200000|Dora Ünal|{h['dora@pfa.example']}"
        "|dora@elsewhere.example|0|Holiday|Back on Monday.\\n|2026-01-01 00:00:00"
        "|2035-12-31 23:59:00|-;"
        f"erin|1|1|pfa.example/erin/|20480000|Erin|{h['erin@pfa.example']}|-|-|-;"
        f"frank|0|1|pfa.example/frank/|10240000|Frank (left)|{h['frank@pfa.example']}|-|-|-;"
        f"gina|1|1|pfa.example/gina/|102400000|Gina|{h['gina@pfa.example']}|-|-|-;"
        "hostmaster|1|0|-|-||-|hostmaster@mail.example|-|-;"
        f"hugo|1|1|pfa.example/hugo/|5120000|Hugo|{{PLAIN-MD5}}{h['hugo@pfa.example']}|-|-|-;"
        "old|0|0|-|-||-|carl@pfa.example|-|-;"
        "postmaster|1|0|-|-||-|carl@pfa.example|-|-;"
        "sales|1|0|-|-||-|carl@pfa.example,dora@pfa.example|-|-;"
        "webmaster|1|0|-|-||-|webmaster@mail.example|-|-"])
    check("PostfixAdmin's reply once: one reply per sender for the whole vacation; weekly kept",
          db.sql("SELECT a.local_part, v.interval_seconds FROM vacations v JOIN addresses a ON"
                 " a.id = v.address_id WHERE a.local_part IN ('carl', 'dora') ORDER BY 1"
                 ).splitlines(), ["carl\t315532740", "dora\t604800"])
    postfixadmin_logins_work(t, db, authd, tmp, logins)
    t.ok("domain", "remove", "pfa.example")
    t.ok("domain", "remove", "other.example")
    db.sql("CREATE DATABASE pfa_src")
    db.load_file(dump, database="pfa_src")
    db.sql("GRANT SELECT ON pfa_src.* TO 'vhm_test'@'localhost'")
    t.ok("import", "postfixadmin", "--from-db", "pfa_src")
    check("import postfixadmin from a database = from its dump", imported(db, domains),
          from_dump)
    t.fails(1, "is for the superadmin", "--as", "boss@pfa.example", "--password-stdin",
            "import", "postfixadmin", "--from-db", "pfa_src",
            stdin=logins["boss@pfa.example"][0] + "\n")
    t.ok("domain", "remove", "pfa.example")
    t.ok("domain", "remove", "other.example")
    db.sql("UPDATE pfa_src.mailbox SET maildir = '../../etc/' WHERE username = 'dora@pfa.example'")
    out = t.ok("import", "postfixadmin", "--from-db", "pfa_src", "--dry-run")
    check("import postfixadmin: an unsafe maildir is not kept",
          "skip dora@pfa.example: maildir \"../../etc/\" is not a safe relative path" in out, True)
    db.sql("INSERT INTO pfa_src.mailbox (username, password, name, maildir, quota, local_part,"
           " domain) VALUES ('lost@pfa-alias.example', '', '', 'x/', 0, 'lost',"
           " 'pfa-alias.example')")
    err = t.fails(1, "nothing imported", "import", "postfixadmin", "--from-db", "pfa_src")
    check("a mailbox inside an alias domain is refused by name, not dropped",
          "mailbox lost@pfa-alias.example: a mailbox in the domain alias pfa-alias.example" in err,
          True)
    db.sql("DROP DATABASE pfa_src")


def postfixadmin_logins_work(t, db, authd, tmp, logins):
    """Every imported password verifies in authd (Debian's testsaslauthd) and in Dovecot (SQL
    passdb), except the disabled mailbox; the domain admin signs in to the tool."""
    password, _, _ = logins["boss@pfa.example"]
    check("PostfixAdmin domain admin signs in with its kept hash",
          signs_in(t, "boss@pfa.example", password), (0, ""))
    mailboxes = {k: v for k, v in logins.items() if not k.startswith(("boss@", "root@"))}
    config = (vhm_daemon.base_config(db, tmp) + f"authd_dovecot_listen = unix:{tmp}/pfa-auth\n"
              f"authd_saslauthd_listen = unix:{tmp}/pfa-mux\nauthd_cache_ttl = 0\n")
    with vhm_daemon.daemon(authd, config, tmp, name="authd-pfa"):
        for login, (password, stored, active) in sorted(mailboxes.items()):
            code, out = vhm_sasl.testsaslauthd(f"{tmp}/pfa-mux", login, password)
            check(f"authd: imported {stored[:12]}... of {login} (active={active})", code,
                  0 if active else 255)
        code, _ = vhm_sasl.testsaslauthd(f"{tmp}/pfa-mux", "carl@pfa.example", "wrong 11")
        check("authd: a wrong password for an imported hash fails", code, 255)
    if vhm_dovecot.unavailable_reason():
        print(f"SKIP: Dovecot part: {vhm_dovecot.unavailable_reason()}")
        return
    with vhm_dovecot.private_dovecot(os.path.join(tmp, "pfa"), db,
                                     DOVECOT_PASSWORD_QUERY) as dv:
        for login, (password, stored, active) in sorted(mailboxes.items()):
            ok, out = dv.auth_test(login, password)
            check(f"Dovecot: imported {stored[:12]}... of {login} (active={active})", ok, active)


DOVECOT_PASSWORD_QUERY = (
    "SELECT CONCAT(a.local_part, '@', d.name) AS user, a.password FROM addresses a JOIN domains d"
    " ON d.id = a.domain_id WHERE a.local_part = '%n' AND d.name = '%d' AND a.enabled AND"
    " d.enabled AND a.password IS NOT NULL")


def passwords_in_dovecot(t, db, tmp):
    """Passwords the tool writes verify in a private Dovecot with an SQL passdb on our
    database (doveadm auth test). Returns False when Dovecot is not available (skip)."""
    why = vhm_dovecot.unavailable_reason()
    if why:
        print(f"SKIP: Dovecot part: {why}")
        return False
    t.ok("address", "passwd", "xandros@blobber.org", "--stdin", stdin="d0ve cote\n")
    t.ok("address", "add", "nopass@blobber.org")
    with vhm_dovecot.private_dovecot(tmp, db, DOVECOT_PASSWORD_QUERY) as dv:
        ok, out = dv.auth_test("xandros@blobber.org", "d0ve cote")
        check("Dovecot verifies a password set with address passwd --stdin", (ok, out), (True, out))
        if not ok:
            print(dv.log())
        ok, out = dv.auth_test("xandros@blobber.org", "d0ve cot")
        check("Dovecot refuses a wrong password (a mismatch, not a database failure)",
              (ok, "temp_fail" in out), (False, False))
        ok, out = dv.auth_test("Xandros@Blobber.org", "d0ve cote")
        check("Dovecot: the login is case-insensitive like our lookups", ok, True)
        ok, out = dv.auth_test("nopass@blobber.org", "x")
        check("Dovecot refuses an address without a password", (ok, "temp_fail" in out),
              (False, False))
    t.ok("address", "remove", "nopass@blobber.org")
    return True


def main():
    admin, lookupd, authd, source = sys.argv[1:5]
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-admin-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        config_file = os.path.join(tmp, "vhostmail.cf")
        with open(config_file, "w") as f:
            f.write(vhm_daemon.base_config(db, tmp) +
                    f"admin_migrations_directory = {source}/sql/migrations\n")
        os.chmod(config_file, 0o640)  # it holds db_password: check warns when others can read it
        t = tool(admin, config_file)
        code, out, _ = t.run("db", "status")
        check("db status before migrate: pending, exit 1", (code, "pending" in out), (1, True))
        t.ok("db", "migrate")
        out = t.ok("db", "migrate")
        check("db migrate is idempotent", "already current" in out, True)
        t.ok("db", "status")
        build_spec_example(t)
        happy_paths(t, db)
        passwords(t, db)
        imports(t, db, tmp)
        error_paths(t, db)
        resolve_agrees_with_lookupd(t, db, lookupd, tmp)
        cli_details(t, db)
        check_command(t, db)
        check_postfix(t, tmp, source)
        dovecot_ran = passwords_in_dovecot(t, db, tmp)
        here = os.path.dirname(os.path.abspath(__file__))
        import_howto(t, db, here)
        import_postfixadmin(t, db, authd, here, tmp)
        domain_admins(t, db, admin, tmp)
        t.ok("domain", "alias", "remove", "blobber.net")
        t.ok("domain", "remove", "lala.com")
        check("domain remove cascades",
              db.sql("SELECT COUNT(*) FROM addresses a JOIN domains d ON d.id = a.domain_id"
                     " WHERE d.name = 'lala.com'").strip(), "0")
        code, _, err = tool(admin, "/nonexistent.cf").run("domain", "list")
        check("missing config file: exit 1 with the file named",
              (code, "/nonexistent.cf" in err), (1, True))
        with open(os.path.join(tmp, "bad.cf"), "w") as f:
            f.write("db_pool_size = many\n")
        code, _, err = tool(admin, os.path.join(tmp, "bad.cf")).run("domain", "list")
        check("bad config: file:line error", (code, "bad.cf:1:" in err), (1, True))
    result = verdict()
    if result == 0 and not dovecot_ran:
        return vhm_mariadb.SKIP  # everything else passed, but not all was shown
    return result


if __name__ == "__main__":
    sys.exit(main())
