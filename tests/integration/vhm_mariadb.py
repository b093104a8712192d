# SPDX-License-Identifier: Apache-2.0
"""vhm_mariadb - a private, throwaway MariaDB server for vhostmail integration tests.

Python 3 standard library only. Never touches the system MariaDB service: every server runs
from its own temporary directory, on its own socket, and is stopped by the PID we started.

    import vhm_mariadb
    vhm_mariadb.skip_unless_available()         # exits 77 (CTest SKIP_RETURN_CODE) if missing

    with vhm_mariadb.private_mariadb(tcp=False) as db:
        db.socket       # Unix socket path (always)
        db.port         # TCP port on 127.0.0.1 when tcp=True, else None
        db.database     # "vhostmail" (utf8mb4)
        db.user         # "vhm_test" (@localhost and @127.0.0.1), ALL PRIVILEGES on vhostmail.*
        db.password     # random per instance
        db.tmpdir       # the instance's directory (data/, server.log, ...); removed at teardown
        db.pid          # PID of the running mariadbd, None while stopped
        db.sql("SELECT 1")              # runs SQL as root through the mariadb client (stdin),
                                        # database vhostmail; returns stdout (batch format: tab-
                                        # separated, no column names); raises MariaDBError
        db.sql(text, database=None, as_user=True)   # as vhm_test / without a default database
        db.load_file(path)              # a .sql file through the client (understands DELIMITER)
        db.write_option_file(path)      # [client] file with user, password, socket; returns path
        db.stop()                       # SIGTERM the server, wait for it to exit
        db.kill()                       # SIGKILL (a crash), wait
        db.start()                      # start again on the same datadir/socket/port, wait ready
        db.pause() / db.resume()        # SIGSTOP / SIGCONT (a hung server)

Teardown (leaving the with-block, also on exceptions) SIGKILLs the server we started and
removes the directory. atexit and SIGTERM/SIGINT/SIGHUP handlers do the same for every live
instance, so a CTest timeout does not leak servers. Against SIGKILL of the test script itself, a
small watchdog process (own session, stdlib only) waits for EOF on a pipe from us and then
SIGKILLs the server PID we started (after checking its command line names our directory) and
removes the directory; PR_SET_PDEATHSIG(SIGKILL) on the server is a second, best-effort net.

Installs are serialized with flock(/tmp/vhm-mariadb-install.lock): parallel mariadb-install-db
runs collide (docs/testing.md). Waits use deadlines and polling, never fixed sleeps.
"""

import atexit
import ctypes
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

SKIP = 77
INSTALL_LOCK = "/tmp/vhm-mariadb-install.lock"
_SBIN_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])

_live = []  # instances with something to clean up


class MariaDBError(RuntimeError):
    """A mariadb client or server failure; .stderr holds the client's error text."""

    def __init__(self, message, stderr=""):
        super().__init__(message)
        self.stderr = stderr


def _which(name):
    return shutil.which(name, path=_SBIN_PATH)


def unavailable_reason():
    """None when mariadbd, mariadb-install-db and mariadb are installed, else what is missing."""
    missing = [n for n in ("mariadbd", "mariadb-install-db", "mariadb") if not _which(n)]
    return ("missing: " + ", ".join(missing)) if missing else None


def skip_unless_available():
    """Exit with status 77 (skip) when the MariaDB server or client is not installed."""
    reason = unavailable_reason()
    if reason:
        print("SKIP: MariaDB not available (%s)" % reason, file=sys.stderr)
        sys.exit(SKIP)


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent():
    # Runs in the child between fork and exec: ask the kernel to SIGKILL the server when the
    # test script dies, however it dies. Best effort (Linux only).
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except Exception:  # noqa: BLE001 - never fail the exec because of this
        pass


# The watchdog: a tiny process in its own session that holds the read end of a pipe from us.
# It learns each server PID we start (one line per start). When the pipe reaches EOF - we
# closed it, or we died, even by SIGKILL - it SIGKILLs the last PID if that process is still
# one of ours (its command line names our directory), and removes the directory.
_WATCHDOG = r"""
import os, shutil, signal, sys, time
tmpdir = sys.argv[1]
pid = None
for line in sys.stdin:
    line = line.strip()
    pid = int(line) if line.isdigit() else None
def ours(p):
    try:
        with open("/proc/%d/cmdline" % p, "rb") as f:
            return ("--datadir=" + tmpdir + "/").encode() in f.read()
    except OSError:
        return False
if pid and ours(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + 30
    while ours(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
if os.path.basename(tmpdir).startswith("vhm-mariadb-"):
    shutil.rmtree(tmpdir, ignore_errors=True)
"""


def _cleanup_all():
    for inst in list(_live):
        inst.close()


def _on_signal(signum, _frame):
    _cleanup_all()
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)


_handlers_installed = False


def _install_handlers():
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_cleanup_all)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        try:
            if signal.getsignal(sig) in (signal.SIG_DFL, signal.default_int_handler, None):
                signal.signal(sig, _on_signal)
        except ValueError:
            pass  # not the main thread: atexit still applies


class private_mariadb:
    """A private mariadbd in a temporary directory; see the module documentation."""

    def __init__(self, tcp=False, database="vhostmail", user="vhm_test", start_timeout=90,
                 extra_args=()):
        self.tcp = tcp
        self.database = database
        self.user = user
        self.password = "pw-" + secrets.token_hex(8)
        self.start_timeout = start_timeout
        self.extra_args = list(extra_args)
        self.port = None
        self.pid = None
        self._proc = None
        self._paused = False
        self._watchdog = None
        self.tmpdir = None

    # -- lifecycle -------------------------------------------------------------------------

    def __enter__(self):
        try:
            self.setup()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def setup(self):
        """Install a fresh datadir, start the server, create the database and the test user."""
        reason = unavailable_reason()
        if reason:
            raise MariaDBError("MariaDB not available: " + reason)
        _install_handlers()
        # Short path: a Unix socket path must fit in 108 bytes.
        base = os.environ.get("TMPDIR", "/tmp")
        if len(base) > 40:
            base = "/tmp"
        self.tmpdir = tempfile.mkdtemp(prefix="vhm-mariadb-", dir=base)
        _live.append(self)
        self._watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, self.tmpdir], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            text=True)
        self.datadir = os.path.join(self.tmpdir, "data")
        self.socket = os.path.join(self.tmpdir, "mysqld.sock")
        self.pid_file = os.path.join(self.tmpdir, "mysqld.pid")
        self.log_file = os.path.join(self.tmpdir, "server.log")
        self._install()
        if self.tcp:
            self.port = _free_port()
        self.start()
        self.sql(
            "CREATE DATABASE IF NOT EXISTS `{db}` CHARACTER SET utf8mb4 "
            "COLLATE utf8mb4_unicode_ci;\n"
            "CREATE USER '{u}'@'localhost' IDENTIFIED BY '{pw}';\n"
            "CREATE USER '{u}'@'127.0.0.1' IDENTIFIED BY '{pw}';\n"
            "GRANT ALL PRIVILEGES ON `{db}`.* TO '{u}'@'localhost';\n"
            "GRANT ALL PRIVILEGES ON `{db}`.* TO '{u}'@'127.0.0.1';\n".format(
                db=self.database, u=self.user, pw=self.password),
            database=None)

    def _install(self):
        os.makedirs(self.datadir)
        args = [_which("mariadb-install-db"), "--no-defaults", "--datadir=" + self.datadir,
                "--auth-root-authentication-method=socket", "--skip-test-db"]
        if os.geteuid() == 0:
            args.append("--user=root")
        else:
            import pwd
            me = pwd.getpwuid(os.geteuid()).pw_name
            args += ["--user=" + me, "--auth-root-socket-user=" + me]
        log = os.path.join(self.tmpdir, "install.log")
        with open(INSTALL_LOCK, "a") as lock, open(log, "w") as out:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                r = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=subprocess.STDOUT, timeout=300, check=False)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        if r.returncode != 0:
            raise MariaDBError("mariadb-install-db failed (%d):\n%s" % (r.returncode,
                                                                       self._tail(log)))

    def _server_args(self):
        args = [_which("mariadbd"), "--no-defaults", "--datadir=" + self.datadir,
                "--socket=" + self.socket, "--pid-file=" + self.pid_file,
                "--log-error=" + self.log_file, "--tmpdir=" + self.tmpdir,
                "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
                "--max-connections=100"]
        if os.geteuid() == 0:
            args.append("--user=root")
        if self.port:
            args += ["--port=%d" % self.port, "--bind-address=127.0.0.1"]
        else:
            args.append("--skip-networking")
        return args + self.extra_args

    def start(self):
        """Start mariadbd (again) and wait until it answers; raises MariaDBError on failure."""
        if self._proc is not None and self._proc.poll() is None:
            raise MariaDBError("server already running (pid %d)" % self._proc.pid)
        for attempt in range(3):
            self._proc = subprocess.Popen(
                self._server_args(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, preexec_fn=_die_with_parent)
            self.pid = self._proc.pid
            self._paused = False
            self._tell_watchdog(self.pid)
            try:
                self._wait_ready()
                return
            except MariaDBError:
                log = self._tail(self.log_file)
                self._reap(signal.SIGKILL)
                port_taken = "Address already in use" in log or "Do you already have" in log
                if self.port and port_taken and attempt < 2:
                    self.port = _free_port()  # lost a race for the port: pick another
                    continue
                raise

    def _tell_watchdog(self, pid):
        if self._watchdog is not None:
            try:
                self._watchdog.stdin.write("%d\n" % pid)
                self._watchdog.stdin.flush()
            except (BrokenPipeError, ValueError):
                pass

    def _wait_ready(self):
        deadline = time.monotonic() + self.start_timeout
        last = ""
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise MariaDBError("mariadbd exited with %s during startup:\n%s" % (
                    self._proc.returncode, self._tail(self.log_file)))
            if os.path.exists(self.socket):
                r = self._client(["-e", "SELECT 1"], database=None, timeout=10)
                if r.returncode == 0:
                    return
                last = r.stderr
            time.sleep(0.1)
        raise MariaDBError("mariadbd not ready after %ds (%s):\n%s" % (
            self.start_timeout, last.strip(), self._tail(self.log_file)))

    def _reap(self, sig, timeout=60):
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            try:
                os.kill(proc.pid, sig)
                if self._paused and sig != signal.SIGKILL:
                    os.kill(proc.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self._proc = None
        self.pid = None
        self._paused = False

    def stop(self):
        """SIGTERM the server and wait for a clean shutdown (SIGKILL after 60 s)."""
        self._reap(signal.SIGTERM)

    def kill(self):
        """SIGKILL the server (a crash) and wait for it to be gone."""
        self._reap(signal.SIGKILL)

    def pause(self):
        """SIGSTOP: the server keeps its sockets but answers nothing."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGSTOP)
            self._paused = True

    def resume(self):
        """SIGCONT after pause()."""
        if self._proc is not None and self._proc.poll() is None:
            os.kill(self._proc.pid, signal.SIGCONT)
            self._paused = False

    def close(self):
        """Kill the server we started and remove the directory. Idempotent."""
        try:
            self._reap(signal.SIGKILL)
        finally:
            if self.tmpdir and os.path.isdir(self.tmpdir):
                shutil.rmtree(self.tmpdir, ignore_errors=True)
            if self._watchdog is not None:
                try:
                    self._watchdog.stdin.close()  # EOF: the watchdog finds nothing left, exits
                    self._watchdog.wait(timeout=30)
                except (OSError, subprocess.TimeoutExpired):
                    pass
                self._watchdog = None
            if self in _live:
                _live.remove(self)

    # -- SQL -------------------------------------------------------------------------------

    def _client(self, extra, database, as_user=False, stdin_text=None, timeout=120):
        args = [_which("mariadb"), "--no-defaults", "--socket=" + self.socket, "--batch",
                "--skip-column-names", "--default-character-set=utf8mb4"]
        env = dict(os.environ)
        env.pop("MYSQL_PWD", None)
        if as_user:
            args.append("--user=" + self.user)
            env["MYSQL_PWD"] = self.password
        else:
            args.append("--user=root")
        if database:
            args.append("--database=" + database)
        try:
            return subprocess.run(args + extra, input=stdin_text, capture_output=True,
                                  text=True, env=env, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as e:
            return subprocess.CompletedProcess(args, 124, "", "client timed out: %s" % e)

    def sql(self, text, database="", as_user=False, timeout=120):
        """Run SQL through the mariadb client; return stdout; raise MariaDBError on failure.

        database: "" means self.database, None means no default database."""
        db = self.database if database == "" else database
        r = self._client([], db, as_user=as_user, stdin_text=text, timeout=timeout)
        if r.returncode != 0:
            raise MariaDBError("mariadb client failed (%d): %s" % (r.returncode,
                                                                  r.stderr.strip()), r.stderr)
        return r.stdout

    def load_file(self, path, database="", as_user=False):
        """Run a .sql file through the mariadb client (DELIMITER blocks work)."""
        with open(path, encoding="utf-8") as f:
            return self.sql(f.read(), database=database, as_user=as_user, timeout=300)

    def write_option_file(self, path=None, group="client"):
        """Write a MariaDB option file for the test user; return its path."""
        path = path or os.path.join(self.tmpdir, "client.cnf")
        with open(path, "w") as f:
            f.write("[%s]\nuser=%s\npassword=%s\nsocket=%s\ndatabase=%s\n" % (
                group, self.user, self.password, self.socket, self.database))
        os.chmod(path, 0o600)
        return path

    @staticmethod
    def _tail(path, lines=40):
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return "(no %s)" % path


if __name__ == "__main__":
    # Smoke test: python3 vhm_mariadb.py
    skip_unless_available()
    with private_mariadb(tcp=True) as db:
        print("socket", db.socket, "port", db.port)
        print(db.sql("SELECT VERSION(), CURRENT_USER()", as_user=True).strip())
        db.kill()
        db.start()
        print(db.sql("SELECT 1").strip())
