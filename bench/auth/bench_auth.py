#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench_auth - vhostmail-authd throughput and latency over both of its protocols.

usage: bench_auth.py --authd BINARY [--users 200] [--requests 2000] [--keep]

Python 3 standard library only; needs root (authd drops privileges). Everything is private: a
throwaway mariadbd (tests/integration/vhm_mariadb.py) with sql/migrations and --users addresses
whose passwords are SHA512-CRYPT (5000 rounds, the scheme and cost of the fixture and of
Dovecot's default), and one authd with a Dovecot socket and a saslauthd socket.

Phases (each under flock /tmp/vhm-build.lock so no build competes for the cores), clients are
processes (no GIL in the measurement):
  dovecot|saslauthd x good|bad x 1|20 clients, cache off: authentications/s, p50, p99
  dovecot good, cache on (repeat logins of few users): authentications/s, p50, p99
  50 clients hammering wrong passwords (throttled on purpose) while 5 clients log in with good
  passwords from other addresses: p50/p99 of the good logins (target p99 < 50 ms)
Not yet compared here: Dovecot's own auth server with an SQL passdb and saslauthd+pam_mysql
(the issue's contenders c and d): --dovecot starts Dovecot with an SQL passdb, but that path
is unfinished (its first run hung and was not debugged).
"""

import argparse
import base64
import fcntl
import multiprocessing
import os
import shutil
import subprocess
import signal
import socket
import statistics
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
FIXTURE_HASH = ("$6$vhmexample$r.aINX/.lDi1gNr4XNqU.jgAFa6P9i.0FL0EQ23pQs5b.mBB7NwgF77bnRbMX4EE50"
                "tAEz5QwXxiWgoYwbjsX1")


def plain_signals():
    # Pool workers inherit vhm_mariadb's SIGTERM handler, which would stop the private server
    # when Pool.terminate() ends them.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def dovecot_worker(args):
    path, users, password, n, rip = args
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(b"VERSION\t1\t0\nCPID\t1\n")
    f = s.makefile("rb")
    while f.readline().rstrip(b"\n") != b"DONE":
        pass
    lat, ok = [], 0
    for i in range(n):
        user = users[i % len(users)]
        blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        t = time.perf_counter()
        s.sendall(f"AUTH\t{i + 1}\tPLAIN\tservice=smtp\trip={rip}\tsecured\tresp={blob}\n"
                  .encode())
        line = f.readline()
        lat.append(time.perf_counter() - t)
        ok += line.startswith(b"OK")
    s.close()
    return lat, ok


def saslauthd_worker(args):
    path, users, password, n, _rip = args
    lat, ok = [], 0
    for i in range(n):
        user = users[i % len(users)]
        req = b"".join(struct.pack(">H", len(x)) + x for x in
                       (user.encode(), password.encode(), b"smtp", b""))
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


def run(worker, path, users, password, clients, per_client, rip_base="192.0.2."):
    jobs = [(path, users[c::clients] or users, password, per_client, f"{rip_base}{c + 1}")
            for c in range(clients)]
    with multiprocessing.Pool(clients, initializer=plain_signals) as pool:
        t = time.perf_counter()
        results = pool.map(worker, jobs)
        wall = time.perf_counter() - t
    lat = sorted(x for r in results for x in r[0])
    ok = sum(r[1] for r in results)
    return len(lat) / wall, lat[len(lat) // 2] * 1000, lat[int(len(lat) * 0.99)] * 1000, ok


def report(name, r, total):
    rate, p50, p99, ok = r
    print(f"{name:44s} {rate:9.0f}/s  p50 {p50:7.2f} ms  p99 {p99:7.2f} ms  ok {ok}/{total}",
          flush=True)


def start_dovecot(tmp, db):
    """Dovecot's own auth server (SQL passdb, same users and hashes), or None if not installed.
    Returns (auth-client socket path, master pid)."""
    binary = shutil.which("dovecot", path="/usr/sbin:/usr/bin")
    if binary is None:
        return None
    run = os.path.join(tmp, "dovecot-run")
    os.makedirs(run, exist_ok=True)
    with open(os.path.join(tmp, "dovecot-sql.conf.ext"), "w") as f:
        f.write(f"driver = mysql\nconnect = host={db.socket} dbname={db.database} "
                f"user={db.user} password={db.password}\n"
                "default_pass_scheme = SHA512-CRYPT\n"
                "password_query = SELECT CONCAT(a.local_part, '@', d.name) AS user, "
                "a.password FROM addresses a JOIN domains d ON d.id = a.domain_id "
                "WHERE d.name = '%d' AND a.local_part = '%n' AND a.enabled AND d.enabled\n")
    conf = os.path.join(tmp, "dovecot.conf")
    with open(conf, "w") as f:
        f.write(f"""base_dir = {run}
state_dir = {run}
protocols =
ssl = no
log_path = {tmp}/dovecot.log
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_cache_size = 0
auth_failure_delay = 0
passdb {{
  driver = sql
  args = {tmp}/dovecot-sql.conf.ext
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
""")
    subprocess.run([binary, "-c", conf], check=True)
    path = os.path.join(run, "auth-client")
    deadline = time.monotonic() + 20
    while not os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.1)
    with open(os.path.join(run, "master.pid")) as f:
        return path, int(f.read().strip())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--authd", required=True)
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--dovecot", action="store_true",
                    help="also measure Dovecot's auth server (UNFINISHED: hung in its first run)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="vhm-bench-auth-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
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
        with vhm_daemon.daemon(a.authd, nocache, tmp, name="authd") as d, \
                open("/tmp/vhm-build.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for proto, worker, path in (("dovecot", dovecot_worker, f"{tmp}/auth"),
                                        ("saslauthd", saslauthd_worker, f"{tmp}/mux")):
                for kind, pw in (("good", PASSWORD), ("bad", "wrong")):
                    for clients in (1, 20):
                        n = max(a.requests // clients, 10)
                        try:
                            report(f"{proto} {kind} password, {clients} client(s), uncached",
                                   run(worker, path, users, pw, clients, n), n * clients)
                        except OSError as e:
                            print(f"{proto} {kind} {clients}: FAIL ({e})")
                            print("\n".join(d.log().splitlines()[-8:]))
            dovecot = start_dovecot(tmp, db) if a.dovecot else None
            if dovecot is None:
                print("dovecot: not installed (apt-get install dovecot-core dovecot-mysql)")
            else:
                try:
                    for kind, pw in (("good", PASSWORD), ("bad", "wrong")):
                        for clients in (1, 20):
                            n = max(a.requests // clients, 10)
                            report(f"Dovecot auth (SQL) {kind} password, {clients} client(s)",
                                   run(dovecot_worker, dovecot[0], users, pw, clients, n),
                                   n * clients)
                finally:
                    os.kill(dovecot[1], signal.SIGTERM)
            d.write_config(cfg + "authd_cache_ttl = 1s\nauthd_throttle = no\n")
            at = d.log_size()
            d.hup()
            d.wait_for_log("configuration reloaded", start_at=at)
            for clients in (1, 20):
                n = max(a.requests * 5 // clients, 10)
                report(f"dovecot good password, {clients} client(s), cached",
                       run(dovecot_worker, f"{tmp}/auth", users[:20], PASSWORD, clients, n),
                       n * clients)
            d.write_config(cfg + "authd_cache_ttl = 0\nauthd_throttle = yes\n")
            at = d.log_size()
            d.hup()
            d.wait_for_log("configuration reloaded", start_at=at)
            hammer = multiprocessing.Pool(50, initializer=plain_signals)
            bad = hammer.map_async(dovecot_worker, [(f"{tmp}/auth", users[:5], "wrong", 40,
                                                     f"198.51.100.{c + 1}") for c in range(50)])
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
