#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench_auth - vhostmail-authd against Dovecot's auth server and saslauthd + pam_mysql.

usage: bench_auth.py --authd BINARY [--users 200] [--requests 2000] [--only NAME,...]

Run it through bench/auth/run.sh (packages, Release build, /tmp/vhm-build.lock). Python 3
standard library only; needs root. Everything is private: a throwaway mariadbd
(tests/integration/vhm_mariadb.py) with sql/migrations and --users addresses whose passwords are
SHA512-CRYPT (5000 rounds, the scheme and cost of the fixture and of Dovecot's default), and the
four contenders reading those same rows:
  authd-dovecot     vhostmail-authd, Dovecot auth protocol (what Postfix's smtpd speaks)
  authd-saslauthd   vhostmail-authd, saslauthd protocol (Cyrus libsasl2)
  dovecot-sql       Dovecot's own auth server, passdb sql (mysql driver), own config and base_dir
  saslauthd-pam     Debian's saslauthd -a pam -n 5, PAM service with pam_mysql (crypt=1) for
                    auth and account; its PAM file is /etc/pam.d/vhm-bench-auth-<pid> while the
                    bench runs (PAM reads no other place), removed afterwards
Caches are off for all four in the comparison (authd_cache_ttl = 0, auth_cache_size = 0,
saslauthd without -c) and nobody delays failures (authd_throttle = no, auth_failure_delay = 0).

Phases (clients are processes: no GIL in the measurement):
  each contender x good|bad password x 1|20 clients: authentications/s, p50, p99
  authd-dovecot good, cache on (repeat logins of few users): authentications/s, p50, p99
  50 clients hammering wrong passwords (throttled on purpose) while 5 clients log in with good
  passwords from other addresses: p50/p99 of the good logins (target p99 < 50 ms)
"""

import argparse
import base64
import multiprocessing
import os
import subprocess
import signal
import socket
import struct
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402

PASSWORD = "secret"
CASE_SECONDS = 30  # each client stops after this long (--case-seconds); set before forking
FIXTURE_HASH = ("$6$vhmexample$r.aINX/.lDi1gNr4XNqU.jgAFa6P9i.0FL0EQ23pQs5b.mBB7NwgF77bnRbMX4EE50"
                "tAEz5QwXxiWgoYwbjsX1")


def plain_signals():
    # Pool workers inherit vhm_mariadb's SIGTERM handler, which would stop the private server
    # when Pool.terminate() ends them.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def dovecot_worker(args):
    path, users, password, n, rip, service, extra = args
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"VERSION\t1\t0\nCPID\t1\n")
    f = s.makefile("rb")
    while f.readline().rstrip(b"\n") != b"DONE":
        pass
    lat, ok = [], 0
    deadline = time.monotonic() + CASE_SECONDS
    for i in range(n):
        if time.monotonic() > deadline:
            break  # a slow contender (Dovecot's failure queue) is measured for so long only
        user = users[i % len(users)]
        blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        t = time.perf_counter()
        s.sendall(f"AUTH\t{i + 1}\tPLAIN\tservice={service}\trip={rip}{extra}\tsecured"
                  f"\tresp={blob}\n".encode())
        line = f.readline()
        lat.append(time.perf_counter() - t)
        ok += line.startswith(b"OK")
    s.close()
    return lat, ok


def saslauthd_worker(args):
    path, users, password, n, _rip, service, _extra = args
    lat, ok = [], 0
    deadline = time.monotonic() + CASE_SECONDS
    for i in range(n):
        if time.monotonic() > deadline:
            break
        user = users[i % len(users)]
        req = b"".join(struct.pack(">H", len(x)) + x for x in
                       (user.encode(), password.encode(), service.encode(), b""))
        t = time.perf_counter()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(req)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack(">H", data[:2])[0]:
            chunk = s.recv(1024)
            if not chunk:
                break
            data += chunk
        s.close()
        lat.append(time.perf_counter() - t)
        ok += data[2:4] == b"OK"
    return lat, ok


def run(worker, path, users, password, clients, per_client, rip_base="192.0.2.",
        service="smtp", extra=""):
    """extra: more AUTH parameters (Dovecot protocol), each starting with a tab."""
    jobs = [(path, users[c::clients] or users, password, per_client, f"{rip_base}{c + 1}",
             service, extra) for c in range(clients)]
    with multiprocessing.Pool(clients, initializer=plain_signals) as pool:
        t = time.perf_counter()
        # get() with a time-out stays interruptible: SIGTERM/Ctrl-C unwind and clean up.
        results = pool.map_async(worker, jobs).get(timeout=3600)
        wall = time.perf_counter() - t
    lat = sorted(x for r in results for x in r[0])
    ok = sum(r[1] for r in results)
    return (len(lat) / wall, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000, ok,
            len(lat))


def report(name, r, total):
    rate, p50, p99, ok, done = r
    cut = "" if done == total else f" (stopped after {CASE_SECONDS}s)"
    print(f"{name:44s} {rate:9.0f}/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  ok {ok}/{done}{cut}",
          flush=True)


def wait_for_file(path, what, log, timeout=30):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            tail = open(log, errors="replace").read()[-2000:] if os.path.exists(log) else ""
            raise RuntimeError(f"{what}: {path} did not appear within {timeout}s\n{tail}")
        time.sleep(0.05)


def read_pid(path):
    with open(path) as f:
        return int(f.read().split()[0])


def stop_pid(pid, timeout=15):
    """SIGTERM a process we started (it daemonized: not our child), SIGKILL after timeout."""
    def gone():
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "Z"  # exited, not reaped
        except OSError:
            return True
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone():
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


class dovecot_auth:
    """Dovecot's auth server (SQL passdb on the private database), from its own config and
    base_dir; .socket is its auth-client socket (the protocol Postfix speaks)."""

    def __init__(self, tmp, db):
        self.tmp, self.db = tmp, db
        self.run = os.path.join(tmp, "dovecot-run")
        self.conf = os.path.join(tmp, "dovecot.conf")
        self.log = os.path.join(tmp, "dovecot.log")
        self.socket = os.path.join(self.run, "auth-client")
        self.pid = None

    def __enter__(self):
        os.makedirs(self.run, exist_ok=True)
        sql = os.path.join(self.tmp, "dovecot-sql.conf.ext")
        with open(sql, "w") as f:
            f.write(f"driver = mysql\n"
                    f"connect = host={self.db.socket} dbname={self.db.database} "
                    f"user={self.db.user} password={self.db.password}\n"
                    "default_pass_scheme = SHA512-CRYPT\n"
                    "password_query = SELECT CONCAT(a.local_part, '@', d.name) AS user, "
                    "a.password AS password FROM addresses a JOIN domains d "
                    "ON d.id = a.domain_id WHERE a.enabled AND d.enabled "
                    "AND d.name = '%d' AND a.local_part = '%n'\n")
        with open(self.conf, "w") as f:
            f.write(f"""base_dir = {self.run}
state_dir = {self.run}/state
log_path = {self.log}
protocols =
ssl = no
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_cache_size = 0
auth_failure_delay = 0
passdb {{
  driver = sql
  args = {sql}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home=/nonexistent
}}
service auth {{
  unix_listener auth-client {{
    mode = 0666
  }}
}}
service anvil {{
  chroot =
}}
""")
        # dovecot daemonizes and keeps its stdio: no pipes, or run() waits for ever.
        p = subprocess.run(["dovecot", "-c", self.conf], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if p.returncode != 0:
            check = subprocess.run(["dovecot", "-c", self.conf, "-n"], capture_output=True,
                                   text=True)
            raise RuntimeError(f"dovecot did not start (exit {p.returncode}):\n{check.stderr}")
        # The master writes master.pid in base_dir; the auth-client socket comes with auth.
        wait_for_file(os.path.join(self.run, "master.pid"), "dovecot", self.log)
        self.pid = read_pid(os.path.join(self.run, "master.pid"))
        wait_for_file(self.socket, "dovecot", self.log)
        return self

    def __exit__(self, *exc):
        if self.pid:
            stop_pid(self.pid)


class saslauthd_pam:
    """Debian's saslauthd with -a pam; the PAM service uses pam_mysql on the private database.
    .socket is its mux, .service the PAM service name to send."""

    def __init__(self, tmp, db, workers=5):
        self.tmp, self.db, self.workers = tmp, db, workers
        self.run = os.path.join(tmp, "saslauthd")
        self.socket = os.path.join(self.run, "mux")
        self.service = f"vhm-bench-auth-{os.getpid()}"
        self.pam_file = os.path.join("/etc/pam.d", self.service)
        self.pid = None

    def __enter__(self):
        os.makedirs(self.run, exist_ok=True)
        args = (f"user={self.db.user} passwd={self.db.password} host={self.db.socket} "
                f"db={self.db.database} "
                "[table=addresses a JOIN domains d ON d.id = a.domain_id] "
                "usercolumn=CONCAT(a.local_part,'@',d.name) passwdcolumn=a.password "
                "[where=a.enabled AND d.enabled] crypt=1")
        with open(self.pam_file, "w") as f:
            f.write("# bench/auth/bench_auth.py: removed when the bench ends\n"
                    f"auth required pam_mysql.so {args}\n"
                    f"account required pam_mysql.so {args}\n")
        subprocess.run(["saslauthd", "-a", "pam", "-m", self.run, "-n", str(self.workers)],
                       check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        wait_for_file(os.path.join(self.run, "saslauthd.pid"), "saslauthd", "/dev/null")
        self.pid = read_pid(os.path.join(self.run, "saslauthd.pid"))
        wait_for_file(self.socket, "saslauthd", "/dev/null")
        return self

    def __exit__(self, *exc):
        if self.pid:
            stop_pid(self.pid)
        if os.path.exists(self.pam_file):
            os.unlink(self.pam_file)


def compare(name, worker, path, users, requests, service="smtp"):
    """One contender: good and bad passwords, 1 and 20 clients. Dovecot-protocol requests say
    no-penalty: Dovecot's auth then skips its per-client failure delay (authd's throttle is off
    here and ignores the flag)."""
    for kind, pw in (("good", PASSWORD), ("bad", "wrong")):
        for clients in (1, 20):
            n = max(requests // clients, 10)
            label = f"{name} {kind} password, {clients} client(s), uncached"
            try:
                report(label, run(worker, path, users, pw, clients, n, service=service,
                                  extra="\tno-penalty"), n * clients)
            except OSError as e:
                print(f"{label}: FAIL ({e})", flush=True)


def sanity(name, worker, path, users, service="smtp"):
    """One good and one bad login, so a contender that answers wrongly is not measured."""
    good = worker((path, users[:1], PASSWORD, 1, "192.0.2.250", service, "\tno-penalty"))[1]
    bad = worker((path, users[:1], "wrong", 1, "192.0.2.250", service, "\tno-penalty"))[1]
    if (good, bad) != (1, 0):
        raise RuntimeError(f"{name}: good login ok={good}, bad login ok={bad}: not measured")


def reload_authd(d, text):
    d.write_config(text)
    at = d.log_size()
    d.hup()
    d.wait_for_log("configuration reloaded", start_at=at)


def main():
    global CASE_SECONDS
    ap = argparse.ArgumentParser()
    ap.add_argument("--authd", required=True)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--requests", type=int, default=2000,
                    help="requests per uncached case (split over the clients)")
    ap.add_argument("--only", default="authd-dovecot,authd-saslauthd,dovecot-sql,saslauthd-pam",
                    help="contenders to compare (the cached and hammer phases always run)")
    ap.add_argument("--case-seconds", type=float, default=CASE_SECONDS,
                    help="each client of a case stops after this long (Dovecot answers a failed"
                         " login only at its next 500 ms failure-queue run)")
    a = ap.parse_args()
    CASE_SECONDS = a.case_seconds
    only = set(a.only.split(","))
    with tempfile.TemporaryDirectory(prefix="vhm-bench-auth-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        # Unwind on SIGTERM/SIGINT, so Dovecot, saslauthd and the PAM file go too (vhm_mariadb's
        # own handler would end the process at once).
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, _frame: sys.exit(128 + signum))
        os.chmod(tmp, 0o755)
        for m in sorted(os.listdir(os.path.join(ROOT, "sql", "migrations"))):
            db.load_file(os.path.join(ROOT, "sql", "migrations", m))
        db.sql("INSERT INTO domains (name) VALUES ('bench.example');")
        rows = ",".join(f"((SELECT id FROM domains WHERE name='bench.example'), 'u{i}', "
                        f"'{FIXTURE_HASH}')" for i in range(a.users))
        db.sql(f"INSERT INTO addresses (domain_id, local_part, password) VALUES {rows};")
        users = [f"u{i}@bench.example" for i in range(a.users)]
        cfg = vhm_daemon.base_config(db, tmp) + (
            f"authd_dovecot_listen = unix:{tmp}/auth\nauthd_saslauthd_listen = unix:{tmp}/mux\n"
            "authd_max_clients = 200\ndb_pool_size = 8\n")
        nocache = cfg + "authd_cache_ttl = 0\nauthd_throttle = no\n"
        print(f"{a.users} users, SHA512-CRYPT 5000 rounds; {os.cpu_count()} CPUs", flush=True)
        with vhm_daemon.daemon(a.authd, nocache, tmp, name="authd") as d:
            for name, worker, path in (("authd-dovecot", dovecot_worker, f"{tmp}/auth"),
                                       ("authd-saslauthd", saslauthd_worker, f"{tmp}/mux")):
                if name in only:
                    sanity(name, worker, path, users)
                    compare(name, worker, path, users, a.requests)
            if "dovecot-sql" in only:
                with dovecot_auth(tmp, db) as dc:
                    sanity("dovecot-sql", dovecot_worker, dc.socket, users)
                    compare("dovecot-sql", dovecot_worker, dc.socket, users, a.requests)
            if "saslauthd-pam" in only:
                with saslauthd_pam(tmp, db) as sp:
                    sanity("saslauthd-pam", saslauthd_worker, sp.socket, users, sp.service)
                    compare("saslauthd-pam", saslauthd_worker, sp.socket, users, a.requests,
                            sp.service)
            reload_authd(d, cfg + "authd_cache_ttl = 1s\nauthd_throttle = no\n")
            for clients in (1, 20):
                n = max(a.requests * 5 // clients, 10)
                report(f"authd-dovecot good password, {clients} client(s), cached",
                       run(dovecot_worker, f"{tmp}/auth", users[:20], PASSWORD, clients, n),
                       n * clients)
            reload_authd(d, cfg + "authd_cache_ttl = 0\nauthd_throttle = yes\n")
            hammer = multiprocessing.Pool(50, initializer=plain_signals)
            bad = hammer.map_async(dovecot_worker, [(f"{tmp}/auth", users[:5], "wrong", 40,
                                                     f"198.51.100.{c + 1}", "smtp", "")
                                                    for c in range(50)])
            time.sleep(1)
            try:
                r = run(dovecot_worker, f"{tmp}/auth", users[len(users) // 2:], PASSWORD, 5,
                        100, "203.0.113.")
                report("good logins while 50 clients hammer", r, 500)
                print(f"  target p99 < 50 ms: {'PASS' if r[2] < 50 else 'FAIL'}")
            except OSError as e:
                print(f"good logins while 50 clients hammer: FAIL ({e})")
                print("\n".join([x for x in d.log().splitlines() if "warning" in x][-5:]))
            hammer.terminate()
            del bad
    return 0


if __name__ == "__main__":
    sys.exit(main())
