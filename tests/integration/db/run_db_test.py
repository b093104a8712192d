#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""run_db_test.py PROGRAM MIGRATIONS_DIR - lib/db against a private MariaDB.

Starts a throwaway server (vhm_mariadb.py), then drives PROGRAM (db_integration_test), which
keeps one pool for the whole run, through: migrations (twice: idempotent; schema_version; same
schema as the mariadb client produces; pending/newer versions; GET_LOCK serialization), data
round trips, lease timeout, host failover, a killed session, a SIGKILLed server, a restart, a
clean shutdown, and a SIGSTOPped server. Exit 0 = pass, 1 = fail, 77 = MariaDB not installed.
"""

import atexit
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vhm_mariadb  # noqa: E402

failures = []


def report(ok, name, detail=""):
    print("%s - %s%s" % ("ok" if ok else "not ok", name, (": " + detail) if detail else ""),
          flush=True)
    if not ok:
        failures.append(name)
    return ok


class Program:
    """The C++ test program: one command line in, one reply line out."""

    def __init__(self, args):
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines),
                         daemon=True).start()
        threading.Thread(target=self._collect, daemon=True).start()

    @staticmethod
    def _pump(stream, q):
        for line in stream:
            q.put(line.rstrip("\n"))
        q.put(None)

    def _collect(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def send(self, command, timeout=60):
        self.send_only(command)
        return self.receive(command, timeout)

    def send_only(self, command):
        self._start = time.monotonic()
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass

    def receive(self, command, timeout=60):
        try:
            reply = self.lines.get(timeout=timeout)
        except queue.Empty:
            reply = None
        elapsed = time.monotonic() - self._start
        if reply is None:
            self.proc.poll()
            reply = "DIED returncode=%s stderr=%s" % (self.proc.returncode,
                                                      "".join(self.stderr)[-3000:])
        print("  > %s\n  < %s  (%.2fs)" % (command, reply[:400], elapsed), flush=True)
        return reply

    def close(self):
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        time.sleep(0.1)  # let the stderr reader finish
        return self.proc.returncode


def fields(reply):
    """'ERR code=1 temporary=0 message=a b' -> {'status': 'ERR', 'code': '1', ...}."""
    out = {"status": reply.split(" ", 1)[0]}
    msg = reply.find(" message=")
    head = reply if msg < 0 else reply[:msg]
    if msg >= 0:
        out["message"] = reply[msg + len(" message="):]
    for m in re.finditer(r"(\w+)=(\S*)", head):
        out[m.group(1)] = m.group(2)
    return out


def expect_ok(prog, command, name, want=None, timeout=60):
    reply = prog.send(command, timeout)
    f = fields(reply)
    ok = f["status"] == "OK" and all(f.get(k) == v for k, v in (want or {}).items())
    report(ok, name, "" if ok else reply)
    return f


def expect_temp_error(prog, command, name, max_ms=None, min_ms=None, codes=None, broken=None):
    reply = prog.send(command)
    f = fields(reply)
    ok = f["status"] == "ERR" and f.get("temporary") == "1"
    ms = int(f.get("elapsed_ms", "0") or 0)
    if ok and max_ms is not None:
        ok = ms <= max_ms
    if ok and min_ms is not None:
        ok = ms >= min_ms
    if ok and codes is not None:
        ok = int(f.get("code", "0")) in codes
    if ok and broken is not None:
        ok = f.get("broken") == ("1" if broken else "0")
    report(ok, name, "" if ok else reply)
    return f


def schema_signature(db, schema):
    q = """
SELECT 'col', TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, IFNULL(COLUMN_DEFAULT, 'NULL'),
       IFNULL(COLLATION_NAME, ''), EXTRA
  FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{s}' AND TABLE_NAME <> 'schema_version'
UNION ALL
SELECT 'trg', TRIGGER_NAME, EVENT_MANIPULATION, EVENT_OBJECT_TABLE, ACTION_TIMING, '', '', ''
  FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{s}'
UNION ALL
SELECT 'rtn', ROUTINE_NAME, ROUTINE_TYPE, '', '', '', '', ''
  FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{s}'
UNION ALL
SELECT 'con', TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE, '', '', '', ''
  FROM information_schema.TABLE_CONSTRAINTS
 WHERE CONSTRAINT_SCHEMA = '{s}' AND TABLE_NAME <> 'schema_version'
ORDER BY 1, 2, 3, 4;
""".format(s=schema)
    return db.sql(q, database=None).splitlines()


def test_migrations(prog, db, migrations):
    reply = prog.send("status " + migrations)
    report(reply == "OK 1:initial:pending", "status before migrating", reply)
    expect_ok(prog, "migrate " + migrations, "migrate applies 0001",
              {"applied": "1", "version": "1"})
    rows = db.sql("SELECT version, name, applied_at IS NOT NULL FROM schema_version")
    report(rows == "1\tinitial\t1\n", "schema_version content", repr(rows))
    expect_ok(prog, "migrate " + migrations, "second migrate applies nothing",
              {"applied": "none", "version": "1"})
    reply = prog.send("status " + migrations)
    report(reply == "OK 1:initial:applied", "schema_status lists the applied migration", reply)

    counts = db.sql("SELECT (SELECT COUNT(*) FROM information_schema.TRIGGERS "
                    "WHERE TRIGGER_SCHEMA = 'vhostmail'), (SELECT COUNT(*) FROM "
                    "information_schema.ROUTINES WHERE ROUTINE_SCHEMA = 'vhostmail')")
    report(counts == "22\t3\n", "22 triggers and 3 procedures created", repr(counts))

    # The same file through the mariadb client must give the same schema.
    db.sql("CREATE DATABASE vhostmail_ref CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
           database=None)
    db.load_file(os.path.join(migrations, "0001_initial.sql"), database="vhostmail_ref")
    mine = schema_signature(db, "vhostmail")
    ref = schema_signature(db, "vhostmail_ref")
    report(mine == ref and len(mine) > 50, "schema equals the mariadb client's (%d items)"
           % len(mine), "" if mine == ref else "\n".join(sorted(set(mine) ^ set(ref))))
    db.sql("DROP DATABASE vhostmail_ref", database=None)

    # Pending and newer versions.
    extra = tempfile.mkdtemp(prefix="vhm-migrations-")
    try:
        shutil.copy(os.path.join(migrations, "0001_initial.sql"), extra)
        with open(os.path.join(extra, "0002_it_extra.sql"), "w") as f:
            f.write("-- test migration\nCREATE TABLE IF NOT EXISTS it_extra (id INT);\n"
                    "DELIMITER //\nCREATE OR REPLACE PROCEDURE it_p() BEGIN SELECT 1; END //\n"
                    "DELIMITER ;\nINSERT INTO it_extra VALUES (1);\n")
        reply = prog.send("status " + extra)
        report(reply == "OK 1:initial:applied 2:it_extra:pending", "status shows pending",
               reply)
        expect_ok(prog, "migrate " + extra, "migrate applies the pending 0002",
                  {"applied": "2", "version": "2"})
        report(db.sql("SELECT COUNT(*) FROM it_extra") == "1\n", "0002 ran once")
        expect_ok(prog, "migrate " + extra, "0002 not applied twice", {"applied": "none"})
        reply = prog.send("migrate " + migrations)
        f = fields(reply)
        report(f["status"] == "ERR" and f.get("temporary") == "0" and
               "newer" in f.get("message", ""), "refuses a database newer than the files",
               reply)
        reply = prog.send("status " + migrations)
        report(reply == "OK 1:initial:applied 2:it_extra:applied:nofile",
               "status shows a version without file", reply)
        with open(os.path.join(extra, "0003_broken.sql"), "w") as f:
            f.write("CREATE TABLE it_ok (id INT);\nCREATE TABLE it_broken (id NOSUCHTYPE);\n")
        reply = prog.send("migrate " + extra)
        f = fields(reply)
        report(f["status"] == "ERR" and f.get("temporary") == "0" and
               "0003_broken.sql: statement 2" in f.get("message", ""),
               "a failing file is reported by file and statement", reply)
        report(db.sql("SELECT MAX(version) FROM schema_version") == "2\n",
               "a failing file is not recorded")
        db.sql("DELETE FROM schema_version WHERE version = 2; DROP TABLE it_extra, it_ok; "
               "DROP PROCEDURE it_p")
    finally:
        shutil.rmtree(extra, ignore_errors=True)

    # GET_LOCK serializes migrations: hold the lock for ~2 s from another session.
    holder = subprocess.Popen(
        [shutil.which("mariadb", path=vhm_mariadb._SBIN_PATH), "--no-defaults",
         "--socket=" + db.socket, "--user=root", "--batch"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    holder.stdin.write("SELECT GET_LOCK('vhostmail_migrate', 10); SELECT SLEEP(2);\n")
    holder.stdin.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if db.sql("SELECT IS_USED_LOCK('vhostmail_migrate') IS NOT NULL") == "1\n":
            break
        time.sleep(0.05)
    f = expect_ok(prog, "migrate " + migrations, "migrate waits for the migration lock",
                  {"applied": "none"})
    report(int(f.get("elapsed_ms", "0") or 0) >= 1000, "waited for the other holder (%s ms)"
           % f.get("elapsed_ms"))
    holder.wait(timeout=30)

    # The migrated schema works with the SPEC fixtures (triggers fire).
    db.load_file(os.path.join(SOURCE_SQL, "fixtures", "spec-example.sql"))
    serial = db.sql("SELECT SUM(serial) > 1 FROM routing_serial")
    report(serial == "1\n", "fixtures load and triggers bump routing_serial", repr(serial))


def test_faults(prog, db):
    # A SIGKILLed server: the first query on a pooled connection fails temporarily, no crash.
    expect_ok(prog, "warm 2", "two idle connections")
    db.kill()
    expect_temp_error(prog, "query", "query after SIGKILL: temporary error",
                      codes={2006, 2013, 2055, 5013, 5014}, broken=True, max_ms=5000)
    expect_temp_error(prog, "query", "query while the server is down: connect refused",
                      codes={2002}, max_ms=5000)
    expect_ok(prog, "stats", "pool after the crash", {"open": "0"})
    db.start()
    expect_ok(prog, "query", "same pool works after restart", {"value": "1"})

    # Restart between two requests: pool::run retries once on a fresh connection.
    expect_ok(prog, "warm 2", "two idle connections again")
    db.kill()
    db.start()
    expect_ok(prog, "run", "run() hides a restart with one retry", {"calls": "2", "value": "1"})
    expect_ok(prog, "query", "plain query after run()", {"value": "1"})

    # A clean shutdown (SIGTERM) closes sessions server-side.
    expect_ok(prog, "warm 2", "idle connections before a clean stop")
    db.stop()
    db.start()
    expect_ok(prog, "run", "run() after a clean restart", {"value": "1"})

    # A hung server (SIGSTOP): the read timeout (1 s) turns into a temporary error.
    expect_ok(prog, "warm 1", "an idle connection before pausing")
    db.pause()
    try:
        expect_temp_error(prog, "query", "paused server: read timeout is a temporary error",
                          min_ms=800, max_ms=4000, codes={2013, 2006}, broken=True)
        expect_temp_error(prog, "query", "paused server: a new connection times out too",
                          max_ms=6000)
    finally:
        db.resume()
    expect_ok(prog, "query", "works again after SIGCONT", {"value": "1"})
    expect_ok(prog, "query", "and again", {"value": "1"})

    # Ping before reuse (idle_interval 0): a restart is invisible to the caller.
    expect_ok(prog, "ping:warm 2", "ping pool: two idle connections")
    db.kill()
    db.start()
    expect_ok(prog, "ping:query", "ping pool: stale connections replaced silently",
              {"value": "1"})

    # Threads sharing the pool, with the server killed and restarted under them.
    f = expect_ok(prog, "threads 8 1500", "8 threads share a pool of 2")
    report(f.get("max_open") in ("1", "2"), "never more than pool_size connections",
           f.get("max_open", ""))
    prog.send_only("threads 6 4000")
    time.sleep(1.0)
    db.kill()
    time.sleep(0.5)
    db.start()
    reply = prog.receive("threads 6 4000 (server killed and restarted meanwhile)", timeout=120)
    f = fields(reply)
    report(f["status"] == "OK" and int(f.get("ok", "0")) > 0,
           "threads through a crash: only temporary errors, no crash", reply)
    expect_ok(prog, "query", "pool healthy after the chaos", {"value": "1"})


SOURCE_SQL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "sql")


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    program, source_migrations = sys.argv[1], os.path.abspath(sys.argv[2])
    vhm_mariadb.skip_unless_available()
    # The mechanism is tested on the first migration alone, so later real migrations (0002,
    # 0003, ...) do not change what this test expects; the fixture still loads against 0001.
    migrations = tempfile.mkdtemp(prefix="vhm-migrations-0001-")
    atexit.register(shutil.rmtree, migrations, True)
    shutil.copy(os.path.join(source_migrations, "0001_initial.sql"), migrations)
    if not os.access(program, os.X_OK):
        print("not executable: " + program, file=sys.stderr)
        return 1
    with vhm_mariadb.private_mariadb(tcp=True) as db:
        prog = Program([program, "--socket", db.socket, "--user", db.user, "--password",
                        db.password, "--database", db.database, "--tcp-port", str(db.port),
                        "--read-timeout-ms", "1000", "--connect-timeout-ms", "1000"])
        try:
            test_migrations(prog, db, migrations)
            expect_ok(prog, "roundtrip", "prepared statements round-trip data")
            f = expect_temp_error(prog, "lease_timeout", "lease timeout is a temporary error",
                                  min_ms=250, max_ms=2000, codes={9001})
            expect_ok(prog, "failover " + os.path.join(db.tmpdir, "dead.sock"),
                      "failover from a dead socket to the live one")
            f = expect_ok(prog, "tcp", "TCP host entry")
            report(f.get("value", "").startswith("vhm_test@127.0.0.1"), "TCP login as vhm_test")
            expect_ok(prog, "kill_session", "a killed session is replaced")
            expect_ok(prog, "snapshot_isolation",
                      "a consistent snapshot holds under a READ COMMITTED session default")
            test_faults(prog, db)
        finally:
            rc = prog.close()
        report(rc == 0, "program exits cleanly (sanitizers quiet)",
               "rc=%s %s" % (rc, "".join(prog.stderr)[-3000:]))
        if prog.stderr:
            print("program stderr:\n" + "".join(prog.stderr)[-3000:])
    if failures:
        print("FAILED: %d check(s): %s" % (len(failures), ", ".join(failures)))
        return 1
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
