#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""run_routing_diff_test.py ROUTING_DIFF SOURCE_DIR - the routing copy against direct queries.

Generated data (vhm_routing_data.generate(seed, 300 domains, 3,000 mailboxes, 1,500 aliases,
variety=True): every routing feature, loops, dead ends, bounds) is loaded into a private MariaDB
with the repository's migrations. routing_diff (routing_diff.cc) then asks every key through
three directories, which must give the same resolve() and sender_logins() answers, trace
included:
    A    the copy loaded once (on one connection) and refreshed incrementally, as lookupd
         keeps it
    B    a fresh full load, read on two connections at once as lookupd's full loads are
    SQL  sql_directory, as vhostmail-deliver and lmtpd ask without a copy
First after the load, then after each round of changes, refreshed incrementally: first the
generator's edge cases one by one (a change in one domain that alters what other domains' copies
hold: the login names of grants and administrators), then rounds of its random SQL batches
(addresses, forwards, fallbacks, grants, administrators, vacations, domain aliases, domains
added, deleted and renamed, ...), one of which changes so many domains that the refresh must
read everything, and one that changes nothing. Then a change to one domain must make the
refresh read that one domain, however many domains were deleted before. Last, a change
committed between the snapshots of a full load's two connections, a second connection that
fails in the middle of the load, or none to be had, must make it read on one, as A holds it.

The seed is VHM_ROUTING_DIFF_SEED (default below); a failure prints it, so
    VHM_ROUTING_DIFF_SEED=N ctest -R integration_routing_diff --output-on-failure
repeats the run. Exit 0 = pass, 1 = fail, 77 = MariaDB not installed.
"""

import glob
import os
import queue
import random
import re
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import vhm_mariadb  # noqa: E402
import vhm_routing_data  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

DEFAULT_SEED = 20261207
SIZES = (300, 3000, 1500)  # domains, mailboxes, aliases
KEYS = 2000                # after the load
ROUND_KEYS = 300           # per round: the mutations' own keys, these, and keys of their domains
# Random mutations per round. 60 in one round change more domains than the loader reads one by
# one (today: more than max(32, domains / 8)), so that round takes the full-reload path.
ROUNDS = (1, 1, 2, 2, 3, 3, 4, 5, 6, 8, 60, 2, 0)
MAX_SHOWN = 150            # mismatch lines printed per check (the rest is counted)
PROGRAM_FAILED = [False]   # routing_diff saw a mismatch or an error: it exits 1


class Program:
    """routing_diff: commands in, lines out; a command's reply ends with its summary line."""

    def __init__(self, args):
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1,
                                     encoding="utf-8", errors="backslashreplace")
        self.lines = queue.Queue()
        self.stderr = []
        threading.Thread(target=self._pump, daemon=True).start()
        threading.Thread(target=self._collect, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def _collect(self):
        for line in self.proc.stderr:
            self.stderr.append(line)

    def send(self, command, timeout=300):
        """The reply: (summary line, the lines before it); the summary is "DIED ..." when the
        program ended or stalled."""
        try:
            self.proc.stdin.write(command + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        body = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = None
            if line is None:
                self.lines.put(None)  # the program is gone: so the next command learns it too
                self.proc.poll()
                return ("DIED returncode=%s stderr=%s" % (
                    self.proc.returncode, "".join(self.stderr)[-3000:]), body)
            if line.startswith(("OK ", "ERR ", "checked ")):
                return line, body
            body.append(line)

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


def fields(line):
    return dict(re.findall(r"(\w+)=(\S+)", line))


def run_check(prog, what, keys, tmp, seed):
    """Asks routing_diff about `keys`; records a failure for any mismatch."""
    path = os.path.join(tmp, "keys")
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(k + "\n" for k in keys))
    t0 = time.monotonic()
    summary, body = prog.send("check " + path)
    if summary.startswith(("ERR", "DIED")):
        PROGRAM_FAILED[0] = True
    m = re.match(r"checked (\d+) keys, (\d+) mismatches, (\d+) snapshot differences", summary)
    print("  check %s: %s (%.1f s)" % (what, summary, time.monotonic() - t0), flush=True)
    if body:
        for line in body[:MAX_SHOWN]:
            print("    " + line)
        if len(body) > MAX_SHOWN:
            print("    ... %d more lines" % (len(body) - MAX_SHOWN))
    if not m:
        check("%s: routing_diff checked the keys" % what, summary, "checked ...")
        return None
    n, mismatches, differences = (int(x) for x in m.groups())
    if mismatches or differences:
        PROGRAM_FAILED[0] = True
    check("%s: %d keys, A (incremental), B (full) and SQL agree, A and B hold the same data "
          "(seed %d)" % (what, n, seed), (mismatches, differences), (0, 0))
    result = fields(summary)
    # B's full load reads on two connections at once, A's on one: both ways are compared.
    check("%s: B read on two connections" % what, result.get("connections"), "2")
    result["failed"] = bool(mismatches or differences)
    return result


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 64
    program, source = sys.argv[1], os.path.abspath(sys.argv[2])
    vhm_mariadb.skip_unless_available()
    if not os.access(program, os.X_OK):
        print("not executable: " + program, file=sys.stderr)
        return 1
    seed = int(os.environ.get("VHM_ROUTING_DIFF_SEED", DEFAULT_SEED))
    print("seed %d (VHM_ROUTING_DIFF_SEED)" % seed, flush=True)
    started = time.monotonic()
    ds = vhm_routing_data.generate(seed, *SIZES, variety=True)
    print("generated: %s" % ds.counts, flush=True)
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="vhm-routing-diff-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        for path in sorted(glob.glob(os.path.join(source, "sql", "migrations", "*.sql"))):
            db.load_file(path)
        ds.load(db, quiet=True)
        print("database ready after %.1f s" % (time.monotonic() - started), flush=True)
        prog = Program([program, "--socket", db.socket, "--user", db.user, "--password",
                        db.password, "--database", db.database, "--now", str(ds.now)])
        try:
            summary, _ = prog.send("load")
            print("  " + summary, flush=True)
            PROGRAM_FAILED[0] |= not summary.startswith("OK")
            check("full load", (summary.split(" ")[0], fields(summary).get("full")),
                  ("OK", "1"))
            base_keys = ds.keys(KEYS, seed)
            stats = run_check(prog, "after the load", base_keys, tmp, seed)
            if stats:
                # The keys must reach every kind of answer, or agreeing proves little.
                check("keys reach found, not_found and temp_fail routes and found senders",
                      all(int(stats.get(k, "0")) > 0 for k in (
                          "resolve_found", "resolve_not_found", "resolve_temp_fail",
                          "senders_found")), True)
            mutations = ds.mutations(sum(ROUNDS), seed + 1, edge_cases=True)
            edges = len(mutations) - sum(ROUNDS)
            check("edge cases the data allows (of 7)", edges >= 5, True)
            at = 0
            for number, size in enumerate((1,) * edges + ROUNDS, 1):
                batch = mutations[at:at + size]
                at += size
                print("round %d: %d change(s)" % (number, len(batch)), flush=True)
                keys = set()
                for m in batch:
                    print("  " + m.what, flush=True)
                    try:
                        db.sql(m)
                    except vhm_mariadb.MariaDBError as e:
                        check("round %d: mutation applies: %s (seed %d)" % (
                            number, m.what, seed), str(e), "")
                    keys.update(m.keys)
                summary, _ = prog.send("refresh")
                print("  " + summary, flush=True)
                PROGRAM_FAILED[0] |= not summary.startswith("OK")
                f = fields(summary)
                if size == 0:
                    check("round %d: no change, the same copy" % number,
                          (summary.split(" ")[0], f.get("changed"), f.get("same_pointer")),
                          ("OK", "0", "1"))
                elif number <= edges:
                    # Each edge case changes rows: the refresh must see a change.
                    check("round %d: the refresh sees the change" % number,
                          (summary.split(" ")[0], f.get("changed")), ("OK", "1"))
                else:
                    # A random batch may change nothing (a DELETE ... LIMIT 1 that finds no row);
                    # whether a refresh reads everything is the loader's choice (printed above).
                    check("round %d: refresh" % number, summary.split(" ")[0], "OK")
                domains = {k.rpartition("@")[2] for k in keys}
                keys.update(ds.keys(ROUND_KEYS // 2, seed + number, domains=domains))
                keys.update(rng.sample(base_keys, min(len(base_keys), ROUND_KEYS)))
                result = run_check(prog, "round %d" % number, sorted(keys), tmp, seed)
                if result is None or result["failed"]:
                    # Start the next round from a copy that agrees again, so that what it finds
                    # is its own (this round's failure is recorded).
                    summary, _ = prog.send("load")
                    print("  A loaded again: " + summary, flush=True)
                    PROGRAM_FAILED[0] |= not summary.startswith("OK")
            # Deleted domains (above) must not be read again by every later refresh.
            db.sql("UPDATE domains SET description = 'probe' ORDER BY id LIMIT 1")
            summary, _ = prog.send("refresh")
            print("one domain changed: " + summary, flush=True)
            PROGRAM_FAILED[0] |= not summary.startswith("OK")
            f = fields(summary)
            check("a change to one domain re-reads that domain only (seed %d)" % seed,
                  (f.get("full"), f.get("domains_read")), ("0", "1"))
            # A full load offered a second connection it cannot use reads everything on the
            # first, and loads what A holds (A is current: refreshed just above).
            db.sql("CREATE USER 'vhm_partial'@'localhost' IDENTIFIED BY 'partial-pw';\n" +
                   "".join("GRANT SELECT ON `%s`.%s TO 'vhm_partial'@'localhost';\n" % (
                       db.database, table) for table in (
                       "routing_serial", "routing_versions", "domains", "domain_aliases",
                       "addresses", "vacations", "send_grants", "domain_admins")),
                   database=None)
            for command, why in (
                    ("no_second", "no second connection: "),
                    # No SELECT on forwardings: it fails in the middle of the load.
                    ("second_as vhm_partial partial-pw", "the second connection failed: "),
                    # A change committed between the two connections' snapshots.
                    ("race", "the data changed between the two connections' snapshots")):
                summary, body = prog.send(command)
                print("%s: %s" % (command, " ".join(body + [summary])), flush=True)
                PROGRAM_FAILED[0] |= not summary.startswith("OK")
                f = fields(summary)
                said = [line[5:] for line in body if line.startswith("why: ")]
                check("%s: the load reads on one connection, says why, holds A's data" % command,
                      (f.get("connections"), bool(said) and said[0].startswith(why),
                       f.get("differences")), ("1", True, "0"))
            check("race: the change committed during the load is not in it",
                  int(f.get("serial", 0)) < int(f.get("current", 0)), True)
            summary, _ = prog.send("refresh")
            print("after the race: " + summary, flush=True)
            PROGRAM_FAILED[0] |= not summary.startswith("OK")
            run_check(prog, "after the race", rng.sample(base_keys, min(len(base_keys),
                                                                        ROUND_KEYS)), tmp, seed)
        finally:
            rc = prog.close()
        check("routing_diff's exit status and stderr (sanitizers quiet)",
              (rc, "".join(prog.stderr)[-3000:]), (1 if PROGRAM_FAILED[0] else 0, ""))
    print("finished in %.1f s" % (time.monotonic() - started))
    if failures:
        print("\nseed %d: repeat with VHM_ROUTING_DIFF_SEED=%d" % (seed, seed))
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
