# SPDX-License-Identifier: Apache-2.0
"""vhm_dovecot - a private Dovecot with an SQL passdb on a test's MariaDB, for checking that
password hashes we write verify in Dovecot too.

    import vhm_dovecot
    why = vhm_dovecot.unavailable_reason()      # None, or why the test must skip this part
    with vhm_dovecot.private_dovecot(tmp, db, password_query) as dv:
        dv.auth_test("user@example.org", "password")   # (ok, output) of doveadm auth test

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


def _which(name):
    return shutil.which(name, path=_PATH)


def unavailable_reason():
    for tool in ("dovecot", "doveadm"):
        if _which(tool) is None:
            return f"{tool} not installed (apt-get install dovecot-core)"
    if not os.path.exists(_SQL_DRIVER):
        return "Dovecot's MySQL driver is not installed (apt-get install dovecot-mysql)"
    return None


class private_dovecot:
    def __init__(self, parent, db, password_query, default_scheme="CRYPT"):
        self.dir = os.path.join(parent, "dovecot")
        self.conf = os.path.join(self.dir, "dovecot.conf")
        self.base = os.path.join(self.dir, "run")
        self.logfile = os.path.join(self.dir, "dovecot.log")
        self.db, self.query, self.scheme = db, password_query, default_scheme

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def start(self, timeout=30):
        os.makedirs(self.base, exist_ok=True)
        os.makedirs(os.path.join(self.dir, "state"), exist_ok=True)
        os.chmod(self.dir, 0o755)
        sql = os.path.join(self.dir, "dovecot-sql.conf.ext")
        with open(sql, "w") as f:
            f.write("driver = mysql\n"
                    f"connect = host={self.db.socket} dbname={self.db.database}"
                    f" user={self.db.user} password={self.db.password}\n"
                    f"default_pass_scheme = {self.scheme}\n"
                    f"password_query = {self.query}\n")
        os.chmod(sql, 0o644)  # read by the auth process; a throwaway test password only
        with open(self.conf, "w") as f:
            f.write(f"""protocols = none
base_dir = {self.base}
state_dir = {self.dir}/state
log_path = {self.logfile}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
auth_cache_size = 0
passdb {{
  driver = sql
  args = {sql}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={self.dir}/home/%d/%n
}}
""")
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

    def log(self):
        path = pathlib.Path(self.logfile)
        return path.read_text(errors="replace") if path.exists() else ""
