# SPDX-License-Identifier: Apache-2.0
"""vhm_daemon - run one of our daemons for an integration test, with a generated config file.

    cfg = vhm_daemon.base_config(db, tmp)          # db_* lines for a vhm_mariadb instance
    with vhm_daemon.daemon(binary, cfg + "lookupd_... = ...\\n", tmp, name="lookupd") as d:
        d.wait_for_log("routing data loaded")      # regex, with a deadline
        d.hup(); d.terminate() -> exit code; d.log()

    vhm_daemon.wait_for(lambda: cond(), timeout=30)  # polls with a deadline -> bool
    vhm_daemon.migrate(admin, db, source)         # `vhostmail db migrate` -> CompletedProcess
    vhm_daemon.spec_database(admin, db, source)   # migrate + docs/specification.md's example data
    mailbase = vhm_daemon.mail_base(tmp)           # Maildir base owned by the delivery user
    vhm_daemon.delivery_config(mailbase, sendmail, lmtp_socket)   # deliver_*/lmtpd_* lines

The daemon runs in the foreground (-f, logs to a file) with NOTIFY_SOCKET pointing at a socket
of ours, so start() returns only after it sent READY=1 (systemd's Type=notify protocol), which
also proves that notification works. Teardown always kills what it started.
"""

import os
import pwd
import re
import signal
import socket
import subprocess
import time


def base_config(db, tmp):
    """db_* parameters for a vhm_mariadb.private_mariadb, readable after the privilege drop."""
    os.chmod(db.tmpdir, 0o755)  # the daemon drops to nobody and must reach the socket
    return (f"db_hosts = unix:{db.socket}\n"
            f"db_user = {db.user}\n"
            f"db_password = {db.password}\n"
            f"db_name = {db.database}\n"
            "db_connect_timeout = 2s\n"
            "db_read_timeout = 2s\n"
            "db_write_timeout = 2s\n"
            "db_retry_interval = 1s\n"
            "mail_owner_user = nobody\n"
            "syslog_name = vhostmail\n")


def admin_tool(admin, db, *args, stdin=None, options=()):
    """Runs the `vhostmail` tool against db (no config file: -o db_* settings); the
    CompletedProcess."""
    opts = [f"db_hosts=unix:{db.socket}", f"db_user={db.user}", f"db_password={db.password}",
            f"db_name={db.database}", *options]
    return subprocess.run([admin, "-c", "/dev/null"] + [x for o in opts for x in ("-o", o)] +
                          list(args), input=stdin, capture_output=True, text=True)


def migrate(admin, db, source):
    """Runs `vhostmail db migrate` with the repository's migrations against db; the
    CompletedProcess (returncode 0 on success)."""
    return admin_tool(admin, db, "db", "migrate",
                      options=[f"admin_migrations_directory={source}/sql/migrations"])


def spec_database(admin, db, source):
    """Migrates db to the repository's schema and loads docs/specification.md's example data
    (sql/fixtures/spec-example.sql); a failed migration is a recorded check failure."""
    from vhm_check import check
    r = migrate(admin, db, source)
    check("vhostmail db migrate", (r.returncode, r.stderr.strip()), (0, ""))
    db.load_file(os.path.join(source, "sql/fixtures/spec-example.sql"))


def wait_for(cond, timeout=30, interval=0.05):
    """Polls cond() until it is true (returns True) or the deadline passes (returns False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(interval)
    return False


def mail_base(tmp, name="mail"):
    """A Maildir base directory (mode 0700) owned by the delivery user of base_config."""
    path = os.path.join(tmp, name)
    os.mkdir(path, 0o700)
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    return path


def delivery_config(mailbase, sendmail, lmtp_socket):
    """deliver_* and lmtpd_* parameters for vhostmail-lmtpd / vhostmail-deliver."""
    return (f"deliver_mail_base = {mailbase}\n"
            f"deliver_sendmail_command = {sendmail}\n"
            "deliver_hostname = mx.vhostmail.test\n"
            f"lmtpd_listen = unix:{lmtp_socket}\n")


class daemon:
    def __init__(self, binary, config_text, tmp, name="daemon", extra_args=()):
        self.binary = binary
        self.name = name
        self.config_file = os.path.join(tmp, f"{name}.cf")
        self.log_file = os.path.join(tmp, f"{name}.log")
        self.notify_path = os.path.join(tmp, f"{name}.notify")
        self.extra_args = list(extra_args)
        self.proc = None
        self.preexec = None   # run in the child before exec (e.g. to pass systemd sockets)
        self.pass_fds = ()
        with open(self.config_file, "w") as f:
            f.write(config_text)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.kill()

    def write_config(self, text):
        with open(self.config_file, "w") as f:
            f.write(text)

    def start(self, timeout=30):
        if os.path.exists(self.notify_path):
            os.unlink(self.notify_path)
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(self.notify_path)
        os.chmod(self.notify_path, 0o666)
        env = dict(os.environ, NOTIFY_SOCKET=self.notify_path)
        log = open(self.log_file, "ab")
        self.proc = subprocess.Popen([self.binary, "-f", "-c", self.config_file] + self.extra_args,
                                     stdout=log, stderr=subprocess.STDOUT, env=None,
                                     preexec_fn=self._child_setup(env), pass_fds=self.pass_fds)
        log.close()
        notify.settimeout(0.2)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n"
                                       f"{self.log()}")
                try:
                    if b"READY=1" in notify.recv(4096):
                        return
                except socket.timeout:
                    pass
            raise RuntimeError(f"{self.name} sent no READY=1 within {timeout}s:\n{self.log()}")
        finally:
            notify.close()

    def _child_setup(self, env):
        def setup():
            os.environ.clear()
            os.environ.update(env)
            if self.preexec:
                self.preexec()
        return setup

    def log(self):
        try:
            with open(self.log_file, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def wait_for_log(self, pattern, timeout=30, start_at=0):
        """Waits until the log (from byte start_at) matches pattern; returns the match."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = rx.search(self.log()[start_at:])
            if m:
                return m
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"{self.name}: no log line matching {pattern!r}:\n{self.log()}")

    def log_size(self):
        return len(self.log())

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def hup(self):
        self.proc.send_signal(signal.SIGHUP)

    def terminate(self, timeout=30):
        """SIGTERM and wait; returns the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
