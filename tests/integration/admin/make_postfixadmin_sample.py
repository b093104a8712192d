#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""make_postfixadmin_sample.py - writes postfixadmin_sample.sql, the PostfixAdmin database that
integration_admin imports, the way a PostfixAdmin 3.3 site would have it: Debian's postfixadmin
package (its files only: apt-get download + dpkg-deb -x, nothing installed or configured) runs
against a private MariaDB, its own upgrade.php creates the schema, and its own code writes every
row (postfixadmin-cli for domains, alias domains, mailboxes, aliases and admins; VacationHandler's
set_away(), the call behind its vacation web form, for vacations). mysqldump then writes the file.

Run it by hand when the sample should change (not part of the test run); it needs network access
to Debian's archive and installs php-cli, php-mysql and php-mbstring if they are missing:

    python3 tests/integration/admin/make_postfixadmin_sample.py [OUTPUT]

The passwords, by PostfixAdmin's $CONF['encrypt'] setting at the time the row was written, are
listed in the dump's header (the test signs in with them). Salts are random, so every run writes
different hashes; timestamps are the time of the run.
"""

import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import vhm_mariadb  # noqa: E402

# (address, password, $CONF['encrypt'] when it was set, name, quota in MB, active)
MAILBOXES = [
    ("carl@pfa.example", "carl pass 11", "md5crypt", "Carl Pfa", "100", "y"),
    ("dora@pfa.example", "dora pass 22", "dovecot:SHA512-CRYPT", "Dora Ünal", "50", "y"),
    ("erin@pfa.example", "erin pass 33", "sha512.b64", "Erin", "20", "y"),
    ("frank@pfa.example", "frank pass 44", "php_crypt:SHA512", "Frank (left)", "10", "n"),
    ("gina@pfa.example", "gina pass 55", "php_crypt:BLOWFISH", "Gina", "100", "y"),
    ("hugo@pfa.example", "hugo pass 66", "md5", "Hugo", "5", "y"),
    ("ida@other.example", "ida pass 77", "dovecot:SSHA512", "Ida", "0", "y"),
]
# (login, password, encrypt, domains, superadmin)
ADMINS = [
    ("boss@pfa.example", "boss pass 88", "md5crypt", "pfa.example,other.example", "n"),
    ("root@admin.example", "root pass 99", "md5crypt", "", "y"),
]

VACATION_PHP = r"""<?php
// The call PostfixAdmin's vacation.php makes when a user saves the form; a browser submits a
// textarea's line ends as CRLF, so the body arrives with \r\n.
define('POSTFIXADMIN_CLI', 1);
require_once($argv[1] . '/common.php');
$vh = new VacationHandler($argv[2]);
if (!$vh->set_away($argv[3], $argv[4], (int)$argv[5], $argv[6], $argv[7])) {
    fwrite(STDERR, "set_away failed for $argv[2]\n");
    exit(1);
}
if ($argv[8] === 'off' && !$vh->remove()) {
    fwrite(STDERR, "remove failed for $argv[2]\n");
    exit(1);
}
"""


def run(argv, env=None, cwd=None):
    r = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0 or "Error" in r.stdout or "error" in r.stderr.lower():
        sys.exit(f"failed: {' '.join(argv)}\n{r.stdout}{r.stderr}")
    return r.stdout


def ensure_php():
    have = shutil.which("php") and "pdo_mysql" in subprocess.run(
        ["php", "-m"], capture_output=True, text=True).stdout
    if not have:
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "php-cli",
                        "php-mysql", "php-mbstring"], check=True)


def unpack_postfixadmin(tmp):
    subprocess.run(["apt-get", "download", "postfixadmin"], cwd=tmp, check=True)
    deb = next(f for f in os.listdir(tmp) if f.startswith("postfixadmin_") and f.endswith(".deb"))
    version = subprocess.run(["dpkg-deb", "-f", os.path.join(tmp, deb), "Version"],
                             capture_output=True, text=True, check=True).stdout.strip()
    if not version.startswith("3.3."):
        sys.exit(f"expected PostfixAdmin 3.3.x, the archive has {version}")
    root = os.path.join(tmp, "root")
    subprocess.run(["dpkg-deb", "-x", os.path.join(tmp, deb), root], check=True)
    app = os.path.join(tmp, "app")
    shutil.copytree(os.path.join(root, "usr/share/postfixadmin"), app, symlinks=True)
    for link in ("config.inc.php", "config.local.php", "templates_c"):
        os.remove(os.path.join(app, link))  # they point into /etc and /var
    os.mkdir(os.path.join(app, "templates_c"))
    shutil.copy(os.path.join(root, "etc/postfixadmin/config.inc.php"), app)
    return app, version


def configure(app, db):
    with open(os.path.join(app, "dbconfig.inc.php"), "w") as f:
        f.write(f"""<?php
$dbtype = 'mysqli';
$dbserver = 'localhost';
$dbuser = '{db.user}';
$dbpass = '{db.password}';
$dbname = '{db.database}';
""")
    # What a site running vacation and quotas sets; encrypt varies by row (see MAILBOXES).
    with open(os.path.join(app, "config.local.php"), "w") as f:
        f.write(f"""<?php
$CONF['database_socket'] = '{db.socket}';
$CONF['encrypt'] = getenv('PFA_ENCRYPT') ?: 'md5crypt';
$CONF['vacation'] = 'YES';
$CONF['vacation_domain'] = 'autoreply.mail.example';
$CONF['quota'] = 'YES';
$CONF['domain_quota'] = 'YES';
$CONF['emailcheck_resolve_domain'] = 'NO';
$CONF['admin_email'] = 'postmaster@mail.example';
$CONF['default_aliases'] = array('abuse' => 'abuse@mail.example',
    'hostmaster' => 'hostmaster@mail.example', 'postmaster' => 'postmaster@mail.example',
    'webmaster' => 'webmaster@mail.example');
""")


def populate(app):
    cli_path = os.path.join(app, "scripts", "postfixadmin-cli.php")

    def cli(*args, encrypt="md5crypt"):
        return run(["php", cli_path, *args], env=dict(os.environ, PFA_ENCRYPT=encrypt))

    def domain(name, description, aliases, mailboxes, maxquota, quota, backupmx="n",
               default_aliases="y", active="y"):
        cli("domain", "add", name, "--description", description, "--aliases", aliases,
            "--mailboxes", mailboxes, "--maxquota", maxquota, "--quota", quota,
            "--backupmx", backupmx, "--default-aliases", default_aliases, "--active", active)

    domain("pfa.example", "Carl's \"club\"", "12", "8", "100", "2048")
    domain("other.example", "Other", "0", "0", "0", "0")
    # Alias domains are rows of `domain` too: the alias-domain form offers only those.
    domain("pfa-alias.example", "alias of pfa.example", "0", "0", "0", "0")
    domain("old-alias.example", "a retired alias of pfa.example", "0", "0", "0", "0",
           default_aliases="n")
    domain("backup.example", "secondary MX", "0", "0", "0", "0", backupmx="y",
           default_aliases="n")
    cli("aliasdomain", "add", "pfa-alias.example", "--target-domain", "pfa.example",
        "--active", "y")
    cli("aliasdomain", "add", "old-alias.example", "--target-domain", "pfa.example",
        "--active", "n")
    for address, password, encrypt, name, quota, active in MAILBOXES:
        cli("mailbox", "add", address, "--password", password, "--password2", password,
            "--name", name, "--quota", quota, "--active", "y", "--welcome-mail", "n",
            encrypt=encrypt)
        if active == "n":
            cli("mailbox", "update", address, "--active", "n")
    cli("alias", "add", "sales@pfa.example", "--goto", "carl@pfa.example,dora@pfa.example",
        "--active", "y")
    cli("alias", "add", "old@pfa.example", "--goto", "carl@pfa.example", "--active", "n")
    cli("alias", "add", "@pfa.example", "--goto", "sales@pfa.example", "--active", "y")
    cli("alias", "update", "dora@pfa.example", "--goto", "dora@elsewhere.example",
        "--goto-mailbox", "y")
    cli("alias", "update", "postmaster@pfa.example", "--goto", "carl@pfa.example")
    for login, password, encrypt, domains, superadmin in ADMINS:
        args = ["admin", "add", login, "--password", password, "--password2", password,
                "--superadmin", superadmin, "--active", "y"]
        if domains:
            args += ["--domains", domains]
        cli(*args, encrypt=encrypt)
    vacation = os.path.join(app, "set_vacation.php")
    with open(vacation, "w") as f:
        f.write(VACATION_PHP)
    # The replies its form offers by default: 0 once, 604800 once a week.
    for address, subject, body, interval, state in (
            ("carl@pfa.example", "Away; back soon",
             "I am away.\r\nWrite to 'sales' meanwhile.\r\n\r\n-- \r\nCarl\r\n", "0", "on"),
            ("dora@pfa.example", "Holiday", "Back on Monday.\r\n", "604800", "off")):
        run(["php", vacation, app, address, subject, body, interval, "2026-01-01",
             "2035-12-31", state])


def dump(db, out, version):
    text = subprocess.run(
        ["mysqldump", f"--socket={db.socket}", "-uroot", "--skip-dump-date", db.database],
        capture_output=True, text=True, check=True).stdout
    header = [f"-- A PostfixAdmin {version} database written by PostfixAdmin itself, dumped with",
              "-- mysqldump: generated by make_postfixadmin_sample.py in this directory (do not",
              "-- edit by hand; run the script again). Passwords, by the PostfixAdmin",
              "-- $CONF['encrypt'] setting each was written with:"]
    for address, password, encrypt, *_ in MAILBOXES + ADMINS:
        header.append(f"--   {address}: \"{password}\" ({encrypt})")
    with open(out, "w") as f:
        f.write("\n".join(header) + "\n" + text)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "postfixadmin_sample.sql")
    vhm_mariadb.skip_unless_available()
    ensure_php()
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # apt-get download fetches as _apt
        app, version = unpack_postfixadmin(tmp)
        with vhm_mariadb.private_mariadb(database="postfixadmin") as db:
            configure(app, db)
            run(["php", "upgrade.php"], cwd=os.path.join(app, "public"))
            populate(app)
            dump(db, out, version)
    print(f"wrote {out} (PostfixAdmin {version})")


if __name__ == "__main__":
    main()
