# SPDX-License-Identifier: Apache-2.0
"""vhm_dovecot - a private Dovecot for checking that what we write is what Dovecot reads: with an
SQL passdb on a test's MariaDB (password hashes), or with mailboxes and the maildir quota backend
on our mail base (Maildir++ maildirsize).

    import vhm_dovecot
    why = vhm_dovecot.unavailable_reason()      # None, or why the test must skip this part
    with vhm_dovecot.private_dovecot(tmp, db, password_query) as dv:
        dv.auth_test("user@example.org", "password")   # (ok, output) of doveadm auth test

    why = vhm_dovecot.unavailable_reason(sql=False, quota=True)
    with vhm_dovecot.private_dovecot(tmp, mail_location=f"maildir:{mailbase}/%d/%n",
                                     quota=True) as dv:
        dv.doveadm("save", "-u", "a@example.org", "-m", "Trash", input=text)  # CompletedProcess
        dv.quota_get("a@example.org")   # {"STORAGE": (kilobytes, limit or None), "MESSAGE": ...}

Without db the passdb is static (no passwords: doveadm's user lookups only) and every user
exists (static userdb, allow_all_users); mail users are uid nobody, gid nogroup, the delivery
user of vhm_daemon.base_config. With quota=True the quota plugin runs with
"quota = maildir:User quota" and, unless quota_rule is given, no quota_rule: Dovecot then takes
the limits from the maildirsize header that our delivery writes from the database.

It runs as root from its own base_dir (nothing in /etc/dovecot or /run/dovecot is used),
listens on nothing but unix sockets there (protocols = none: no imap, pop3 or lmtp), logs to a file, and is
stopped by the PID it wrote (SIGTERM, then SIGKILL), never by name.
"""

import os
import pathlib
import shutil
import signal
import subprocess
import time

_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
_SQL_DRIVER = "/usr/lib/dovecot/modules/libdriver_mysql.so"
_QUOTA_PLUGIN = "/usr/lib/dovecot/modules/lib10_quota_plugin.so"


def _which(name):
    return shutil.which(name, path=_PATH)


def unavailable_reason(sql=True, quota=False):
    for tool in ("dovecot", "doveadm"):
        if _which(tool) is None:
            return f"{tool} not installed (apt-get install dovecot-core)"
    if sql and not os.path.exists(_SQL_DRIVER):
        return "Dovecot's MySQL driver is not installed (apt-get install dovecot-mysql)"
    if quota and not os.path.exists(_QUOTA_PLUGIN):
        return f"Dovecot's quota plugin is missing ({_QUOTA_PLUGIN}, package dovecot-core)"
    return None


class private_dovecot:
    def __init__(self, parent, db=None, password_query=None, default_scheme="CRYPT",
                 mail_location=None, quota=False, quota_rule=None):
        self.dir = os.path.join(parent, "dovecot")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.base = os.path.join(self.dir, "run")
        self.logfile = os.path.join(self.dir, "dovecot.log")
        self.db, self.query, self.scheme = db, password_query, default_scheme
        self.mail_location, self.quota, self.quota_rule = mail_location, quota, quota_rule

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=30):
        os.makedirs(self.base, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        os.chmod(self.dir, 0o755)
        with open(self.conf, "w") as f:
            f.write(f"""protocols = none
base_dir = {self.base}
state_dir = {self.dir}/state
log_path = {self.logfile}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_cache_size = 0
""" + self._passdb() + f"""userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={self.dir}/home/%d/%n{self._all_users()}
}}
""" + self._mail())
        # The daemonized master keeps its stdout/stderr: a file, not a pipe we would wait on.
        with open(os.path.join(self.dir, "start.err"), "w+") as err:
            p = subprocess.run([_which("dovecot"), "-c", self.conf], stdin=subprocess.DEVNULL,
                               stdout=err, stderr=err)
            if p.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"dovecot did not start: {err.read()}\n{self.log()}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(os.path.join(self.base, "auth-client")):
                return
            time.sleep(0.05)
        raise RuntimeError(f"dovecot's auth-client socket did not appear\n{self.log()}")

    def _passdb(self):
        if self.db is None:
            return "passdb {\n  driver = static\n  args = nopassword=y\n}\n"
        sql = os.path.join(self.dir, "dovecot-sql.conf.ext")
        with open(sql, "w") as f:
            f.write("driver = mysql\n"
                    f"connect = host={self.db.socket} dbname={self.db.database}"
                    f" user={self.db.user} password={self.db.password}\n"
                    f"default_pass_scheme = {self.scheme}\n"
                    f"password_query = {self.query}\n")
        os.chmod(sql, 0o644)  # read by the auth process; a throwaway test password only
        return f"passdb {{\n  driver = sql\n  args = {sql}\n}}\n"

    def _all_users(self):
        # The static passdb cannot tell whether a user exists: every user does.
        return " allow_all_users=yes" if self.db is None else ""

    def _mail(self):
        text = f"mail_location = {self.mail_location}\n" if self.mail_location else ""
        if self.quota:
            text += ("mail_plugins = $mail_plugins quota\n"
                     "plugin {\n  quota = maildir:User quota\n" +
                     (f"  quota_rule = {self.quota_rule}\n" if self.quota_rule else "") + "}\n")
        return text

    def pid(self):
        try:
            with open(os.path.join(self.base, "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.pid()
        if not pid:
            return
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return
                time.sleep(0.05)

    def auth_test(self, user, password):
        """doveadm auth test through the private auth-client socket: (ok, output)."""
        p = subprocess.run([_which("doveadm"), "-c", self.conf, "auth", "test", user, password],
                           capture_output=True, text=True, timeout=60)
        return p.returncode == 0, (p.stdout + p.stderr).strip()

    def doveadm(self, *args, input=None):
        """doveadm -c <our config> args...: the CompletedProcess (text mode)."""
        return subprocess.run([_which("doveadm"), "-c", self.conf] + list(args), input=input,
                              capture_output=True, text=True, timeout=60)

    def quota_get(self, user):
        """doveadm quota get: {type: (value, limit)} as Dovecot prints them (STORAGE in
        kilobytes, rounded up; limit None when unlimited); raises RuntimeError on failure."""
        p = self.doveadm("-f", "tab", "quota", "get", "-u", user)
        if p.returncode != 0:
            raise RuntimeError(f"doveadm quota get -u {user}: {p.returncode} {p.stderr}")
        out = {}
        for line in p.stdout.splitlines()[1:]:
            fields = line.split("\t")
            if len(fields) >= 4:
                out[fields[1]] = (int(fields[2]), None if fields[3] == "-" else int(fields[3]))
        return out

    def log(self):
        path = pathlib.Path(self.logfile)
        return path.read_text(errors="replace") if path.exists() else ""
