#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench_scale - the routing data at scale: what the whole suite costs in memory, load time,
change-to-served latency, refresh CPU and lookups/s, for a baseline and the current build.

Python 3 standard library only. Normally started by bench/scale/run.sh (which builds the daemons
in release mode, also for a baseline revision, and installs missing packages first); not part of
the test suite.

Per size (--size 100k: 1,000 domains, 100,000 mailboxes, 50,000 aliases, bench/lookup's shape;
--size 1m: 100,000 domains, 1,000,000 mailboxes, 500,000 aliases; both by default), all in
private temporary directories (no system service is touched):
  1. generates the data with tests/integration/vhm_routing_data.py (seeded), starts a private
     mariadbd (tests/integration/vhm_mariadb.py), applies sql/migrations/*.sql and loads the data
     through the mariadb client, ANALYZEs, waits until the server is idle;
  2. for each build (baseline first, then current), one after the other against that same
     database, under flock(/tmp/vhm-build.lock) so no build or test run competes for the cores:
     a. starts vhostmail-lookupd alone and times it from start to its "routing data loaded ...
        (full)" log line (and reads a duration from that line when it carries one), --load-repeat
        times (stopping it in between; the median is the figure, the range is shown); then starts
        vhostmail-policyd, -lmtpd, -authd and -milter together (each with a minimal config, as
        the integration tests do) and waits until each that keeps a copy logged its load. A
        build whose lookupd has routing_image_file runs with it set (--image): lookupd writes
        the one image per host (in a private directory on /dev/shm), the others map it, load
        nothing and log nothing;
     b. memory after load: RSS and PSS (/proc/PID/smaps_rollup) of each daemon (with the
        processes it forked), RSS split into anon/file/shmem (/proc/PID/status), suite sums;
     c. refresh CPU for a one-domain change: CPU (schedstat of every thread) of each daemon that
        keeps a copy across a window (--cpu-window, longer until every copy logged its reload)
        holding one committed INSERT of a new mailbox, minus its idle rate measured over 3 s
        before and 3 s after; median over --cpu-changes;
     d. change served: commits an INSERT of a new mailbox (a persistent mariadb client; the time
        starts when the client has returned from the statement, i.e. after COMMIT), then asks
        lookupd's socketmap `mailboxes` map for it in a tight loop until it is found; --changes
        times, each after a random pause (so commits fall at any phase of the refresh poll);
     d2. refresh CPU as in c. for --cpu-changes of the generator's mutation batches (each one
        transaction changing one or a few domains; each build applies batches of its own, the
        baseline the first ones, the current build the next ones, all valid in that order);
     e. lookups/s against lookupd: Postfix's `postmap -q - socketmap:unix:SOCK:aliases` over the
        generator's keys, 1 client and 8 clients (8 postmaps on their own shares), --repeat
        times; lookupd's CPU per lookup; found keys; answers compared between the builds;
     f. reader traffic: --reader-keys keys asked of policyd (recipient check) and lmtpd (LMTP
        RCPT TO, never DATA), so their copies are in use (a mapped image is resident only where
        it was read);
     g. memory again after all that (and after the changes, to see growth), then stops the
        suite (SIGTERM) and scans the logs for warnings, errors and non-zero exits;
  3. prints one table per size: rows = metrics, columns = baseline / current / ratio, and
     PASS/FAIL against the issue's targets:
        suite (lookupd+policyd+lmtpd+authd) memory < 50 MB at 100k, < 400 MB at 1m (RSS sum and
        PSS sum, after load and after lookups; MB = 2^20 bytes);
        lookupd load < 2 s at 1m;  every change served within 1 s at 1m;
        lookups/s (1 and 8 clients) not lower than the baseline's.
     Exit status 0 whatever the results (a report); 1 when the bench itself failed or a build's
     suite could not be measured (a daemon that exits or never loads: reported, the other
     build is still measured).
"""

import argparse
import ctypes
import fcntl
import os
import pwd
import random
import re
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_clients  # noqa: E402
import vhm_postfix  # noqa: E402

LOCK_FILE = "/tmp/vhm-build.lock"
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
CLK_TCK = os.sysconf("SC_CLK_TCK")
BENCH_IDS = 4000000000  # addresses.id of the mailboxes the bench inserts: clear of generated ids

# name -> (domains, mailboxes, aliases, default innodb_buffer_pool_size)
SIZES = {"10k": (100, 10000, 5000, "64M"),  # a smoke test of the bench itself
         "100k": (1000, 100000, 50000, "256M"),
         "1m": (100000, 1000000, 500000, "2G")}
# The targets per size: suite memory (MB), lookupd load (s), change served (s).
TARGETS = {"10k": {"memory": None, "load": None, "served": None},
           "100k": {"memory": 50, "load": None, "served": None},
           "1m": {"memory": 400, "load": 2.0, "served": 1.0}}

# Daemon name -> binary path inside a build directory. The suite of the memory target is the
# first four; the milter keeps a copy too (its From check) and is measured beside them.
BINARIES = {"lookupd": "daemons/lookupd/vhostmail-lookupd",
            "policyd": "daemons/policyd/vhostmail-policyd",
            "lmtpd": "daemons/deliver/vhostmail-lmtpd",
            "authd": "daemons/authd/vhostmail-authd",
            "milter": "daemons/milter/vhostmail-milter"}
SUITE = ("lookupd", "policyd", "lmtpd", "authd")

LOADED = "routing data loaded"
LOADED_FULL = re.compile(r"routing data loaded\b.*\(full\)")
# A duration on the load line, when a build logs one: "in 1.2s", "took=850ms", "time=0.8 s" ...
DURATION = re.compile(r"(?:\b(?:in|took|time|duration|elapsed|load_time|load)\s*[=:]?\s*|=)"
                      r"(\d+(?:\.\d+)?)\s*(us|µs|ms|s)\b")
UNIT = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}


# ---------------------------------------------------------------------------------------------
# /proc


def children_of():
    """{ppid: [pid, ...]} of every process now."""
    kids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def process_tree(pid):
    """pid and every process below it (lmtpd forks its program runner, for instance)."""
    kids = children_of()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, ()))
    return out


def memory_kb(pids):
    """Sums over pids: Rss, Pss, Pss_Anon/File/Shmem (smaps_rollup), RssAnon/File/Shmem
    (status), in kB."""
    total = {k: 0 for k in ("Rss", "Pss", "Pss_Anon", "Pss_File", "Pss_Shmem", "RssAnon",
                            "RssFile", "RssShmem")}
    for pid in pids:
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    if key in total and not key.startswith("Rss"):
                        total[key] += int(rest.split()[0])
                    elif key == "Rss":
                        total["Rss"] += int(rest.split()[0])
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    key, _, rest = line.partition(":")
                    if key in ("RssAnon", "RssFile", "RssShmem"):
                        total[key] += int(rest.split()[0])
        except (OSError, ValueError, IndexError):
            pass  # gone meanwhile
    return total


def task_cpu_ns(pids):
    """CPU time (ns) of the live threads of pids (/proc/PID/task/*/schedstat): precise, unlike
    the clock ticks of /proc/PID/stat; threads that ended are not counted (none end while the
    daemons are idle: the refreshers are long-lived threads)."""
    total = 0
    for pid in pids:
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                    total += int(f.read().split()[0])
            except (OSError, ValueError, IndexError):
                pass
    return total


def cpu_seconds(pid):
    """utime+stime of a whole process, dead threads included (clock ticks), in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, ValueError, IndexError):
        return 0.0


def wait_quiet(pids, max_wait=120.0, window=1.0, max_cpu_fraction=0.02):
    """Waits until pids together use less than max_cpu_fraction of a core over `window`;
    returns the seconds waited (max_wait when they never became quiet)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < max_wait:
        c0 = task_cpu_ns(pids)
        time.sleep(window)
        if task_cpu_ns(pids) - c0 <= max_cpu_fraction * window * 1e9:
            return time.monotonic() - t0
    return max_wait


def _term_with_parent():
    # In the child between fork and exec: SIGTERM when the bench dies, however it dies.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


def guard(pid, tmp, tmp2):
    """A watchdog shell that SIGTERMs pid (SIGKILL after 15 s) and removes tmp and tmp2 (the
    build's directory under /dev/shm) should this script die without cleaning up (even by
    SIGKILL: it gets SIGTERM as its parent-death signal). The daemons drop privileges, which
    loses any parent-death signal of theirs. Stopped with SIGKILL (no trap) when all goes
    well."""
    script = ('trap \'kill -TERM $0; i=0; while kill -0 $0 && [ $i -lt 15 ]; do sleep 1; '
              'i=$((i+1)); done; kill -0 $0 && kill -KILL $0; rm -rf "$1" "$2"; exit 0\' TERM; '
              'while kill -0 $0; do sleep 1; done')
    return subprocess.Popen(["/bin/sh", "-c", script, str(pid), tmp, tmp2],
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            preexec_fn=_term_with_parent)


def which(name):
    return shutil.which(name, path=SBIN_PATH)


# ---------------------------------------------------------------------------------------------
# clients


class Socketmap:
    """A socketmap client (Sendmail/Postfix netstrings) on one persistent connection."""

    def __init__(self, path, timeout=10):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.rfile = self.sock.makefile("rb")

    def query(self, name, key):
        req = ("%s %s" % (name, key)).encode()
        self.sock.sendall(b"%d:%s," % (len(req), req))
        head = b""
        while not head.endswith(b":"):
            c = self.rfile.read(1)
            if not c:
                raise ConnectionError("socketmap: connection closed")
            head += c
        body = self.rfile.read(int(head[:-1]) + 1)
        return body[:-1].decode(errors="replace")  # "OK value" / "NOTFOUND " / "TEMP ..."

    def close(self):
        try:
            self.rfile.close()
            self.sock.close()
        except OSError:
            pass


class SqlSession:
    """One persistent `mariadb` client (autocommit): run() returns once the server has
    answered every statement, so a change it made is committed when run() returns."""

    def __init__(self, db, tmp):
        self.err_path = os.path.join(tmp, "sql-session.err")
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen(
            [which("mariadb"), "--no-defaults", "--socket=" + db.socket, "--user=root",
             "--database=" + db.database, "--batch", "--skip-column-names", "--unbuffered",
             "--default-character-set=utf8mb4"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, text=True,
            bufsize=1, preexec_fn=_term_with_parent)
        self.n = 0

    def run(self, sql):
        self.n += 1
        marker = "vhm-bench-done-%d" % self.n
        self.proc.stdin.write(sql.strip().rstrip(";") + ";\nSELECT '%s';\n" % marker)
        self.proc.stdin.flush()
        out = []
        while True:
            line = self.proc.stdout.readline()
            if not line:
                with open(self.err_path, errors="replace") as f:
                    raise RuntimeError("mariadb client ended: " + f.read().strip())
            line = line.rstrip("\n")
            if line == marker:
                return out
            out.append(line)

    def close(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.err.close()


class LogWatch:
    """Reads a daemon's log as it grows; timestamps the lines when they are first seen."""

    def __init__(self, path):
        self.path = path
        # From the end of what is there: a daemon started again appends to the same log.
        self.offset = os.path.getsize(path) if os.path.exists(path) else 0
        self.partial = ""
        self.lines = []  # (monotonic time seen, text)

    def poll(self):
        try:
            with open(self.path, errors="replace") as f:
                f.seek(self.offset)
                data = f.read()
                self.offset = f.tell()
        except OSError:
            return
        if not data:
            return
        now = time.monotonic()
        data = self.partial + data
        *complete, self.partial = data.split("\n")
        self.lines.extend((now, line) for line in complete)

    def loads(self):
        """(time seen, line) of every "routing data loaded" line so far."""
        self.poll()
        return [(t, line) for t, line in self.lines if LOADED in line]


# ---------------------------------------------------------------------------------------------
# the suite of one build


class Build:
    def __init__(self, label, bindir, extra_cf):
        self.label = label
        self.bindir = bindir
        self.extra_cf = extra_cf
        self.binaries = {}
        for name, rel in BINARIES.items():
            path = os.path.join(bindir, rel)
            if os.path.exists(path):
                self.binaries[name] = path
        self.knows_image = self._knows("routing_image_file")
        self.image = False  # decided in main (--image)

    def _knows(self, param):
        """Whether this build's lookupd has `param` (its -d dump lists every parameter)."""
        if "lookupd" not in self.binaries:
            return False
        with tempfile.NamedTemporaryFile("w", suffix=".cf") as cf:
            try:
                r = subprocess.run([self.binaries["lookupd"], "-c", cf.name, "-d"],
                                   capture_output=True, text=True, timeout=30)
            except (OSError, subprocess.SubprocessError):
                return False
        return any(line.split("=")[0].strip() == param for line in r.stdout.splitlines())

    def describe(self):
        lookupd = self.binaries.get("lookupd")
        built = (time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.stat(lookupd).st_mtime))
                 if lookupd else "?")
        return "%s: %s (built %s; %s; %s)" % (
            self.label, self.bindir, built, " ".join(sorted(self.binaries)),
            "one routing image per host (routing_image_file)" if self.image else
            "a copy per daemon" + (" (routing_image_file left unset: --image off)"
                                   if self.knows_image else ""))


class Suite:
    """The daemons of one build, started privately in `tmp` against `db`."""

    def __init__(self, build, db, tmp, no_milter, image_dir):
        self.build = build
        self.db = db
        self.tmp = tmp
        self.daemons = {}   # name -> vhm_daemon.daemon
        self.watch = {}     # name -> LogWatch
        self.started = {}   # name -> monotonic time just before start
        self.guards = []
        self.exit_codes = {}
        names = [n for n in BINARIES if n in build.binaries]
        if no_milter and "milter" in names:
            names.remove("milter")
        self.names = names
        self.sock = os.path.join(tmp, "lookupd.sock")
        base = vhm_daemon.base_config(db, tmp)
        # The test suite's 2 s db timeouts and 1 s retry are for fault tests: the defaults here,
        # so that a slow full load at 1m is not cut short by a setting no one runs with.
        base = "".join(line for line in base.splitlines(True) if not line.startswith(
            ("db_connect_timeout", "db_read_timeout", "db_write_timeout", "db_retry_interval")))
        if build.image:
            # lookupd (as nobody) writes the image into a directory of its own on a tmpfs, as
            # the man page says; the other daemons map it.
            os.makedirs(image_dir)
            nobody = pwd.getpwnam("nobody")
            os.chown(image_dir, nobody.pw_uid, nobody.pw_gid)
            base += "routing_image_file = %s/routing.image\n" % image_dir
        self.image_dir = image_dir
        extra = build.extra_cf.replace("{dir}", tmp)
        if extra and not extra.endswith("\n"):
            extra += "\n"
        mailbase = vhm_daemon.mail_base(tmp)
        sendmail = os.path.join(tmp, "sendmail")
        with open(sendmail, "w") as f:
            f.write("#!/bin/sh\ncat > /dev/null\n")
        os.chmod(sendmail, 0o755)
        self.config = {
            "lookupd": ("lookupd_socketmap_listen = unix:%s\n"
                        "lookupd_tcp_listen = aliases=127.0.0.1:%d\n"
                        "lookupd_socket_mode = 0666\n" % (self.sock, vhm_postfix.free_port())),
            # Only the recipient check on the mx socket (the one the bench asks): greylisting and
            # rate limits would write to the database on every request.
            "policyd": ("policyd_mx_listen = unix:%s/policy-mx\n"
                        "policyd_submission_listen = unix:%s/policy-sub\n"
                        "policyd_mx_checks = recipient\n" % (tmp, tmp)),
            "lmtpd": (vhm_daemon.delivery_config(mailbase, sendmail,
                                                 os.path.join(tmp, "lmtp.sock")) +
                      "lmtpd_socket_mode = 0666\nlmtpd_socket_group =\n"),
            "authd": "authd_dovecot_listen = unix:%s/auth\n" % tmp,
            "milter": ("milter_listen = unix:%s/milter\nmilter_socket_group =\n"
                       "milter_socket_mode = 0666\n" % tmp),
        }
        self.config = {n: base + c + extra for n, c in self.config.items()}

    def start(self, name):
        d = vhm_daemon.daemon(self.build.binaries[name], self.config[name], self.tmp, name=name)
        self.daemons[name] = d
        self.watch[name] = LogWatch(d.log_file)
        self.started[name] = time.monotonic()
        d.start(timeout=120)
        self.guards.append(guard(d.proc.pid, self.tmp, self.image_dir))

    def restart_lookupd_alone(self):
        """Stops lookupd (started alone) so that it can be started and timed again."""
        d = self.daemons.pop("lookupd")
        self.exit_codes["lookupd"] = d.terminate(timeout=30)
        g = self.guards.pop()  # its guard: the last one started
        g.kill()
        g.wait()

    def pids(self, name):
        d = self.daemons.get(name)
        if d is None or d.proc is None or d.proc.poll() is not None:
            return []
        return process_tree(d.proc.pid)

    def all_pids(self):
        return [p for n in self.daemons for p in self.pids(n)]

    def wait_loaded(self, names, timeout):
        """Waits until each of names logged "routing data loaded" (or exited: an error);
        returns {name: (seconds from its start, line)}."""
        deadline = time.monotonic() + timeout
        got = {}
        while time.monotonic() < deadline:
            for n in names:
                if n in got:
                    continue
                loads = self.watch[n].loads()
                full = [x for x in loads if LOADED_FULL.search(x[1])] or loads
                if full:
                    got[n] = (full[0][0] - self.started[n], full[0][1])
                elif self.daemons[n].proc.poll() is not None:
                    raise RuntimeError("%s (%s) exited with %s:\n%s" % (
                        n, self.build.label, self.daemons[n].proc.returncode,
                        self.daemons[n].log()[-3000:]))
            if len(got) == len(names):
                return got
            time.sleep(0.005)
        missing = [n for n in names if n not in got]
        raise RuntimeError("%s (%s): no %r within %d s:\n%s" % (
            ", ".join(missing), self.build.label, LOADED, timeout,
            "\n".join("--- %s\n%s" % (n, self.daemons[n].log()[-2000:]) for n in missing)))

    def load_counts(self):
        return {n: len(w.loads()) for n, w in self.watch.items()}

    def stop(self):
        for name, d in self.daemons.items():
            if d.proc is not None and d.proc.poll() is None:
                try:
                    self.exit_codes[name] = d.terminate(timeout=30)
                except subprocess.TimeoutExpired:
                    d.kill()
                    self.exit_codes[name] = "killed after 30 s"
            elif d.proc is not None:
                self.exit_codes.setdefault(name, d.proc.returncode)
        for g in self.guards:
            g.kill()  # SIGKILL: no trap, nothing left to stop
            g.wait()
        self.guards = []

    def log_problems(self):
        out = {}
        for name, d in self.daemons.items():
            bad = [line for line in d.log().splitlines()
                   if re.search(r": (warning|error|fatal|panic):|ERROR: |runtime error", line)]
            if bad:
                out[name] = bad
        return out


# ---------------------------------------------------------------------------------------------
# measuring one build


def measure_build(build, index, db, tmp, image_dir, data, args, mutations):
    """Starts the suite of `build` (the index-th), measures it, stops it; returns a result
    dict. `mutations`: the generator's SQL batches this build applies (none: that row is
    skipped). image_dir: where its routing image goes when build.image."""
    r = {"label": build.label, "mem": {}, "notes": [], "image": build.image}
    suite = Suite(build, db, tmp, args.no_milter, image_dir)
    session = None
    try:
        # -- load ---------------------------------------------------------------------------
        # One load is a noisy figure on a small VM: lookupd alone, --load-repeat times, the last
        # one left running for the rest of the bench.
        loads, logged = [], []
        for attempt in range(args.load_repeat):
            if attempt > 0:
                suite.restart_lookupd_alone()
            suite.start("lookupd")
            got = suite.wait_loaded(["lookupd"], args.load_timeout)
            seconds, line = got["lookupd"]
            loads.append(seconds)
            m = DURATION.search(line.split(LOADED, 1)[1])
            logged.append(float(m.group(1)) * UNIT[m.group(2)] if m else None)
        r["load_lookupd"] = statistics.median(loads)
        r["load_lookupd_range"] = (min(loads), max(loads))
        r["load_lookupd_logged"] = (statistics.median(logged) if None not in logged else None)
        r["load_line"] = line.strip()
        others = [n for n in suite.names if n != "lookupd"]
        t_others = time.monotonic()
        for n in others:
            suite.start(n)
        # policyd, lmtpd and the milter follow the routing data (authd does not): each loads a
        # copy of its own, or, with the routing image, maps lookupd's when it first needs it
        # (then they load nothing and log nothing: READY=1 is all there is to wait for).
        followers = [n for n in others if n in ("policyd", "lmtpd", "milter")]
        keepers = [] if build.image else followers
        got.update(suite.wait_loaded(keepers, args.load_timeout))
        r["copies"] = ["lookupd"] + followers
        for n in keepers:
            r["load_" + n] = got[n][0]
        r["suite_ready"] = time.monotonic() - t_others
        quiet = wait_quiet(suite.all_pids(), max_wait=60)
        if quiet >= 60:
            r["notes"].append("the suite was still busy 60 s after loading")
        r["mem"]["load"] = {n: memory_kb(suite.pids(n)) for n in suite.names}
        print("  %s: loaded; lookupd %.2f s alone, then %s; memory after load: %s" % (
            build.label, r["load_lookupd"], ", ".join(
                "%s %.2f s" % (n, r["load_" + n]) for n in keepers) or
            "%s map its image" % ", ".join(followers),
            ", ".join("%s %.0f/%.0f MB" % (n, m["Rss"] / 1024, m["Pss"] / 1024)
                      for n, m in r["mem"]["load"].items())), flush=True)

        session = SqlSession(db, tmp)
        sm = Socketmap(suite.sock)
        # Picked now: the previous build's mutations may have disabled or renamed some.
        new_domains = pick_domains(db, 200, args.seed + index)
        counter = [0]

        def new_mailbox():
            """Commits a new mailbox; returns its address."""
            for attempt in range(20):
                counter[0] += 1
                local = "bench-b%d-%d" % (index, counter[0])
                domain = new_domains[(counter[0] * 7919 + index) % len(new_domains)]
                if commit_mailbox(session, BENCH_IDS + index * 1000000 + counter[0], local,
                                  domain):
                    return "%s@%s" % (local, domain)
            raise RuntimeError("no new mailbox could be inserted (the domains are gone?)")

        def one_mutation(batch):
            def run():
                # A batch may change nothing (e.g. it removes a grant there is none of): then
                # the serial stays, no copy reloads, and there is nothing to time.
                before = session.run("SELECT COALESCE(SUM(serial), 0) FROM routing_serial")
                session.run(batch)
                after = session.run("SELECT COALESCE(SUM(serial), 0) FROM routing_serial")
                return NO_CHANGE if before == after else None
            return run

        # -- refresh CPU per change ---------------------------------------------------------
        copies = r["copies"]
        r["refresh_cpu"], r["reloaded"] = refresh_cpu(
            suite, copies, sm, [new_mailbox] * args.cpu_changes, args)
        # -- change served ------------------------------------------------------------------
        r["served"], r["served_timeouts"] = change_served(sm, new_mailbox, args,
                                                          args.seed + index)
        # -- refresh CPU per generator mutation (last: they may disable or rename domains) ---
        if mutations:
            r["refresh_cpu_mut"], r["reloaded_mut"] = refresh_cpu(
                suite, copies, sm, [one_mutation(m) for m in mutations], args)
            r["mutations"] = [getattr(m, "what", "?") for m in mutations]
            print("  %s: mutation batches applied: %s" % (build.label, "; ".join(
                "%s (reloaded %s)" % (w, n) for w, n in zip(r["mutations"], r["reloaded_mut"]))),
                flush=True)
        sm.close()
        wait_quiet(suite.all_pids(), max_wait=30)
        r["mem"]["changes"] = {n: memory_kb(suite.pids(n)) for n in suite.names}
        r["changes_made"] = counter[0]
        # -- lookups ------------------------------------------------------------------------
        r["lookups"] = lookups(suite, data, args, tmp)
        # -- the other copies in use: policyd's recipient check and lmtpd's RCPT routing ------
        if args.reader_keys:
            r["readers"] = reader_traffic(suite, data["keys"][:args.reader_keys], tmp)
        wait_quiet(suite.all_pids(), max_wait=30)
        r["mem"]["lookups"] = {n: memory_kb(suite.pids(n)) for n in suite.names}
        r["alive"] = {n: bool(suite.pids(n)) for n in suite.names}
    finally:
        if session is not None:
            session.close()
        suite.stop()
        r["exit_codes"] = dict(suite.exit_codes)
        r["log_problems"] = suite.log_problems()
    return r


def reader_traffic(suite, keys, tmp):
    """Asks policyd (policy protocol, recipient check) and lmtpd (LMTP RCPT TO, never DATA)
    about each key, so that their copies are used as in service: a mapped image is only
    resident where it was read. Returns {name: (requests/s, {reply class: count})}."""
    out = {}
    if suite.pids("policyd"):
        c = vhm_clients.policy_client(os.path.join(tmp, "policy-mx"), timeout=30,
                                      defaults={"sender": "someone@example.net"})
        got = {}
        t0 = time.monotonic()
        for k in keys:
            action = c.ask(recipient=k)
            word = (action or "closed").split()[0].upper()
            got[word] = got.get(word, 0) + 1
            if action is None:
                c.close()
                c = vhm_clients.policy_client(os.path.join(tmp, "policy-mx"), timeout=30,
                                              defaults={"sender": "someone@example.net"})
        out["policyd"] = (len(keys) / (time.monotonic() - t0), got)
        c.close()
    if suite.pids("lmtpd"):
        got = {}
        t0 = time.monotonic()
        lmtp = None
        for i, k in enumerate(keys):
            try:
                if lmtp is None:
                    lmtp = smtplib.LMTP(os.path.join(tmp, "lmtp.sock"), timeout=30)
                    lmtp.ehlo("bench.example")
                    lmtp.mail("bench@example.net")
                elif i % 50 == 0:  # well below lmtpd_max_recipients
                    lmtp.rset()
                    lmtp.mail("bench@example.net")
                code = str(lmtp.rcpt(k)[0])
            except UnicodeEncodeError:
                code = "not sent (8-bit)"
            except (smtplib.SMTPException, OSError) as e:
                code = "error: %s" % type(e).__name__
                lmtp = None
            got[code] = got.get(code, 0) + 1
        if lmtp is not None:
            try:
                lmtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
        out["lmtpd"] = (len(keys) / (time.monotonic() - t0), got)
    for n, (rate, got) in out.items():
        print("    %s: %s: %.0f requests/s, replies %s" % (
            suite.build.label, n, rate, ", ".join("%s %d" % kv for kv in sorted(got.items()))),
            flush=True)
    return out


def commit_mailbox(session, address_id, local, domain):
    """INSERTs (autocommit) a mailbox; True when a row was inserted (the domain exists). The id
    is explicit and far above the generated ones: the generator's mutation batches insert
    addresses with ids of their own, just above the loaded data's."""
    out = session.run("INSERT INTO addresses (id, domain_id, local_part, mailbox) SELECT %d, id, "
                      "'%s', TRUE FROM domains WHERE name = '%s';\nSELECT ROW_COUNT()" % (
                          address_id, local, domain))
    return out == ["1"]


def refresh_cpu(suite, names, sm, changes, args):
    """CPU per change of each daemon in names (those keeping a copy), idle rate subtracted:
    ({name: [ms per change], "_idle_ms_per_s": {name: ms/s}}, [domains reloaded per change,
    from lookupd's log]). changes: callables that each commit one change (one returning an
    address is waited for until lookupd serves it, before the next window; one returning
    NO_CHANGE changed no routing data: its window is left out)."""
    names = [n for n in names if suite.pids(n)]
    window = args.cpu_window
    # The database's side of the refreshes (every follower's queries), for context: under the
    # key "_mariadbd", left out of the daemons' total.
    pids = {n: suite.pids(n) for n in names}
    pids["_mariadbd"] = [suite.db.pid]
    names = names + ["_mariadbd"]

    def cpu():
        return {n: task_cpu_ns(pids[n]) for n in names}

    def idle_rates(seconds):
        c0, t0 = cpu(), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu(), time.monotonic()
        return {n: (c1[n] - c0[n]) / (t1 - t0) for n in names}

    before = idle_rates(3.0)
    raw = []  # (window seconds, {name: ns})
    reloaded = []
    for change in changes:
        counts = suite.load_counts()
        c0, t0 = cpu(), time.monotonic()
        key = change()
        if key is NO_CHANGE:
            reloaded.append("no-op")
            continue
        # Every copy-keeper logs the new load; then the window runs to its end (at least).
        deadline = t0 + max(window, 30)
        waiting = [n for n in counts if n in names and counts[n] > 0]
        while time.monotonic() < deadline:
            now = suite.load_counts()
            waiting = [n for n in waiting if now[n] <= counts[n]]
            if not waiting and time.monotonic() >= t0 + window:
                break
            time.sleep(0.05)
        c1, t1 = cpu(), time.monotonic()
        raw.append((t1 - t0, {n: c1[n] - c0[n] for n in names}))
        loads = suite.watch["lookupd"].loads()
        m = re.search(r"reloaded=(\d+)", loads[-1][1]) if len(loads) > counts["lookupd"] \
            else None
        reloaded.append(int(m.group(1)) if m else "none" if len(loads) == counts["lookupd"]
                        else "?")
        if waiting:
            print("  NOTE: refresh CPU: %s logged no reload within 30 s of a change" %
                  ", ".join(waiting))
        if key:  # served before the next window starts
            t_end = time.monotonic() + 10
            while not sm.query("mailboxes", key).startswith("OK") and time.monotonic() < t_end:
                time.sleep(0.01)
    after = idle_rates(3.0)
    idle = {n: (before[n] + after[n]) / 2 for n in names}
    out = {n: [1e-6 * (ns[n] - idle[n] * secs) for secs, ns in raw] for n in names}
    out["_idle_ms_per_s"] = {n: 1e-6 * idle[n] for n in names}
    return out, reloaded


NO_CHANGE = object()  # a change callable's answer when the routing serial did not move


def change_served(sm, new_mailbox, args, seed):
    """Seconds from COMMIT of a new mailbox to lookupd answering it, per change."""
    rng = random.Random(seed)
    times = []
    timeouts = 0
    for _ in range(args.changes):
        time.sleep(rng.uniform(0.05, 0.4))  # commits at any phase of the refresh poll
        key = new_mailbox()
        t0 = time.monotonic()
        deadline = t0 + args.served_timeout
        while True:
            reply = sm.query("mailboxes", key)
            now = time.monotonic()
            if reply.startswith("OK"):
                times.append(now - t0)
                break
            if now > deadline:
                timeouts += 1
                times.append(float("inf"))
                break
    return times, timeouts


def lookups(suite, data, args, tmp):
    """postmap -q - over socketmap:...:aliases with 1 and N clients, --repeat times."""
    postmap = which("postmap")
    conf = vhm_postfix.client_config_dir(tmp)
    table = "socketmap:unix:%s:aliases" % suite.sock
    outdir = os.path.join(tmp, "lookups")
    os.makedirs(outdir, exist_ok=True)
    pid = suite.daemons["lookupd"].proc.pid
    clients = [int(c) for c in args.clients.split(",") if c.strip()]
    shares = {n: split_keys(data["keys"], n, outdir, "n%d" % n) for n in clients}
    run_postmaps(postmap, conf, table, split_keys(data["keys"][:2000], 1, outdir, "warm"),
                 outdir, "warm")  # connections, caches, page faults
    res = {n: [] for n in clients}
    # One client: lookupd on one CPU, postmap on the other (--pin split, the default), or both
    # on the same (same): left to the scheduler, where it puts the two changes the rate 2-4x
    # from run to run here (bench/lookup/README.md), which would decide the comparison.
    pin = args.pin if len(os.sched_getaffinity(0)) >= 2 else "none"
    cpus = sorted(os.sched_getaffinity(0))
    everywhere = set(cpus)
    for rep in range(args.repeat):
        for n in clients:
            client_cpus = None
            if n == 1 and pin != "none":
                set_affinity(suite.pids("lookupd"), {cpus[0]})
                client_cpus = {cpus[0] if pin == "same" else cpus[1]}
            c0 = cpu_seconds(pid)
            try:
                wall, outs, errors = run_postmaps(postmap, conf, table, shares[n], outdir,
                                                  "n%d.r%d" % (n, rep), client_cpus)
            finally:
                if client_cpus is not None:
                    set_affinity(suite.pids("lookupd"), everywhere)
            cpu = cpu_seconds(pid) - c0
            res[n].append({"rate": len(data["keys"]) / wall, "cpu_us": 1e6 * cpu /
                           len(data["keys"]), "errors": errors})
            if rep == 0 and n == clients[0]:
                res["answers"], res["found"] = read_answers(outs)
            print("    %s: %d client%s run %d/%d: %.0f lookups/s, lookupd %.1f us/lookup%s" % (
                suite.build.label, n, "" if n == 1 else "s", rep + 1, args.repeat,
                res[n][-1]["rate"], res[n][-1]["cpu_us"],
                ", postmap errors: %d" % len(errors) if errors else ""), flush=True)
    res["clients"] = clients
    res["pin"] = pin
    return res


def set_affinity(pids, cpus):
    """Every thread of pids on cpus (threads started later inherit it from their creator)."""
    for pid in pids:
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for tid in tids:
            try:
                os.sched_setaffinity(int(tid), cpus)
            except OSError:
                pass


RUNNING = []  # postmap processes of the current phase, killed on the way out


def run_postmaps(postmap, conf, table, shares, outdir, tag, cpus=None):
    def child():
        _term_with_parent()
        if cpus:
            os.sched_setaffinity(0, cpus)
    procs, outs = [], []
    t0 = time.monotonic()
    for i, share in enumerate(shares):
        out = os.path.join(outdir, "%s.%d.out" % (tag, i))
        err = os.path.join(outdir, "%s.%d.err" % (tag, i))
        with open(share, "rb") as fin, open(out, "wb") as fout, open(err, "wb") as ferr:
            p = subprocess.Popen([postmap, "-c", conf, "-q", "-", table], stdin=fin,
                                 stdout=fout, stderr=ferr, preexec_fn=child)
        procs.append(p)
        RUNNING.append(p)
        outs.append((out, err))
    for p in procs:
        p.wait()
        RUNNING.remove(p)
    wall = time.monotonic() - t0
    errors = []
    for _, err in outs:
        with open(err, errors="replace") as f:
            errors += [line.rstrip("\n") for line in f if line.strip()]
    for p in procs:
        if p.returncode != 0:
            errors.append("postmap exited with %d" % p.returncode)
    return wall, outs, errors


def read_answers(outs):
    """({key: frozenset of values} of the found keys, number of found lines)."""
    answers = {}
    found = 0
    for out, _ in outs:
        with open(out, errors="replace") as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("\t")
                answers[key] = frozenset(v.strip() for v in value.split(","))
                found += 1
    return answers, found


def split_keys(keys, n, outdir, tag):
    paths = []
    size = (len(keys) + n - 1) // n
    for i in range(n):
        path = os.path.join(outdir, "keys.%s.%d.txt" % (tag, i))
        with open(path, "w") as f:
            f.write("".join(k + "\n" for k in keys[i * size:(i + 1) * size]))
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------
# data


def sql_text(batch):
    """One mutation batch as SQL text (a string, a list of statements, or an object with .sql).
    The generator's batches are str subclasses with .what and .keys: kept as they are."""
    if isinstance(batch, str):
        return batch
    if hasattr(batch, "sql"):
        batch = batch.sql
    if isinstance(batch, (list, tuple)):
        return ";\n".join(str(x).strip().rstrip(";") for x in batch)
    return str(batch)


def generate(args, size, n_mutations):
    """The generator's dataset, keys and mutation batches (SQL text); generation seconds."""
    import vhm_routing_data  # tests/integration; imported here so --help works without it
    n_domains, n_mailboxes, n_aliases, _ = SIZES[size]
    t0 = time.monotonic()
    ds = vhm_routing_data.generate(args.seed, n_domains, n_mailboxes, n_aliases, variety=False)
    t_gen = time.monotonic() - t0
    keys = [k[0] if isinstance(k, (tuple, list)) else str(k)
            for k in ds.keys(args.keys, args.seed)]
    mutations = [sql_text(m) for m in ds.mutations(n_mutations, args.seed)] if n_mutations \
        else []
    return ds, keys, mutations, time.monotonic() - t0


def load_database(db, ds):
    t0 = time.monotonic()
    for name in sorted(os.listdir(os.path.join(ROOT, "sql", "migrations"))):
        if name.endswith(".sql"):
            db.load_file(os.path.join(ROOT, "sql", "migrations", name))
    ds.load(db)
    db.sql("ANALYZE TABLE domains, addresses, forwardings;")
    t_load = time.monotonic() - t0
    counts = db.sql("SELECT (SELECT COUNT(*) FROM domains), (SELECT COUNT(*) FROM addresses), "
                    "(SELECT COUNT(*) FROM addresses WHERE mailbox), (SELECT COUNT(*) FROM "
                    "forwardings), (SELECT COUNT(*) FROM domain_aliases)").split()
    return t_load, [int(c) for c in counts]


# ---------------------------------------------------------------------------------------------
# report


def fmt(v, digits=1):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if v == float("inf"):
        return "timeout"
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    return "%.*f" % (digits, v)


def suite_sum(mem, key, names):
    return sum(mem[n][key] for n in names if n in mem) / 1024.0


def report(size, info, results, args):
    n_domains, n_mailboxes, n_aliases, _ = SIZES[size]
    target = TARGETS[size]
    cols = [r["label"] for r in results]
    has_base = len(results) == 2
    rows = []  # (metric, [values], better: "lower"/"higher"/None, digits)

    def row(metric, values, better=None, digits=1):
        rows.append((metric, values, better, digits))

    def section(title):
        rows.append((title, None, None, None))

    section("routing data")
    row("one routing image per host (routing_image_file)", ["yes" if r["image"] else "no"
                                                             for r in results])
    for phase, title in (("load", "memory after load"),
                         ("lookups", "memory after lookups and reader traffic")):
        section("%s (MB = 2^20 bytes; each daemon with the processes it forked)" % title)
        names = [n for n in BINARIES if any(n in r["mem"][phase] for r in results)]
        for n in names:
            row("%-8s RSS" % n, [r["mem"][phase][n]["Rss"] / 1024.0 if n in r["mem"][phase]
                                 else None for r in results], "lower")
            row("%-8s PSS" % n, [r["mem"][phase][n]["Pss"] / 1024.0 if n in r["mem"][phase]
                                 else None for r in results], "lower")
        suite4 = "+".join(SUITE)
        row("suite RSS sum (%s)" % suite4, [suite_sum(r["mem"][phase], "Rss", SUITE)
                                             for r in results], "lower")
        row("suite PSS sum (%s)" % suite4, [suite_sum(r["mem"][phase], "Pss", SUITE)
                                             for r in results], "lower")
        for k, label in (("RssAnon", "anon"), ("RssFile", "file"), ("RssShmem", "shmem")):
            row("  of the RSS sum: %s" % label, [suite_sum(r["mem"][phase], k, SUITE)
                                                 for r in results], "lower")
        if any("milter" in r["mem"][phase] for r in results):
            row("with milter: RSS sum", [suite_sum(r["mem"][phase], "Rss", BINARIES)
                                         for r in results], "lower")
            row("with milter: PSS sum", [suite_sum(r["mem"][phase], "Pss", BINARIES)
                                         for r in results], "lower")
    section("memory growth from load to after lookups (MB; %d changes in between)"
            % results[0].get("changes_made", 0))
    for key, label in (("Rss", "suite RSS"), ("RssAnon", "suite anon RSS (heap: leaks show here)"),
                       ("Pss", "suite PSS")):
        row(label, [suite_sum(r["mem"]["lookups"], key, SUITE) -
                    suite_sum(r["mem"]["load"], key, SUITE) for r in results])

    section("load (s)")
    row("lookupd: start -> loaded (full), alone, median", [r["load_lookupd"] for r in results],
        "lower", 2)
    row("  (min..max of %d)" % args.load_repeat,
        ["%.2f..%.2f" % r["load_lookupd_range"] for r in results])
    row("lookupd: duration on its log line", [r["load_lookupd_logged"] for r in results],
        "lower", 2)
    for n in ("policyd", "lmtpd", "milter"):
        if any(n in r["copies"] for r in results):
            row("%s: start -> loaded (started together)" % n,
                [r.get("load_" + n, "maps image" if r["image"] else None) for r in results],
                "lower", 2)
    row("policyd+lmtpd+authd+milter: start -> all loaded", [r["suite_ready"] for r in results],
        "lower", 2)

    section("change served: COMMIT of a new mailbox -> found in lookupd's mailboxes map (ms)")
    row("median (%d changes)" % args.changes, [1e3 * statistics.median(r["served"])
                                               for r in results], "lower")
    row("max", [1e3 * max(r["served"]) for r in results], "lower")

    section("refresh CPU per one-domain change (ms; idle rate subtracted; median of %d)"
            % args.cpu_changes)
    keepers = [n for n in BINARIES if any(n in r["refresh_cpu"] for r in results)]
    for n in keepers:
        row("%s" % n, [_median(r["refresh_cpu"].get(n)) for r in results], "lower", 2)
    row("total (these daemons)", [_sum_medians(r["refresh_cpu"]) for r in results], "lower", 2)
    row("mariadbd, answering all of them", [_median(r["refresh_cpu"].get("_mariadbd"))
                                            for r in results], "lower", 2)
    row("idle CPU of these daemons (ms/s)", [sum(v for k, v in
                                                 r["refresh_cpu"]["_idle_ms_per_s"].items()
                                                 if not k.startswith("_")) for r in results],
        "lower", 2)
    row("domains reloaded per change (lookupd log)", [
        "/".join(sorted({str(x) for x in r["reloaded"]})) for r in results])
    if all(r.get("refresh_cpu_mut") for r in results):
        section("refresh CPU per generator mutation batch (ms; idle rate subtracted; median "
                "of %d)" % args.cpu_changes)
        for n in keepers:
            row("%s" % n, [_median(r["refresh_cpu_mut"].get(n)) for r in results], "lower", 2)
        row("total (these daemons)", [_sum_medians(r["refresh_cpu_mut"]) for r in results],
            "lower", 2)
        row("mariadbd, answering all of them", [_median(r["refresh_cpu_mut"].get("_mariadbd"))
                                                for r in results], "lower", 2)
        row("domains reloaded per batch (lookupd log; no-op: nothing changed)", [
            "/".join(sorted({str(x) for x in r["reloaded_mut"]})) for r in results])

    clients = results[0]["lookups"]["clients"]
    section("lookups against lookupd: postmap -q - socketmap:...:aliases, %d keys, median of %d"
            "; 1 client pinned: %s" % (len(info["keys"]), args.repeat,
                                       results[0]["lookups"].get("pin")))
    for n in clients:
        row("lookups/s, %d client%s" % (n, "" if n == 1 else "s"),
            [statistics.median(x["rate"] for x in r["lookups"][n]) for r in results],
            "higher", 0)
        row("  (min..max)", ["%.0f..%.0f" % (min(x["rate"] for x in r["lookups"][n]),
                                             max(x["rate"] for x in r["lookups"][n]))
                             for r in results])
        row("lookupd CPU us/lookup, %d client%s" % (n, "" if n == 1 else "s"),
            [statistics.median(x["cpu_us"] for x in r["lookups"][n]) for r in results],
            "lower")
    row("keys found (of %d)" % len(info["keys"]), [r["lookups"]["found"] for r in results],
        None, 0)
    for n, what in (("policyd", "policyd recipient checks/s"), ("lmtpd", "lmtpd RCPT TO/s")):
        if any(n in r.get("readers", {}) for r in results):
            row("%s (%d keys, 1 client)" % (what, args.reader_keys),
                [r["readers"][n][0] if n in r.get("readers", {}) else None for r in results],
                "higher", 0)
            classes = sorted({c for r in results for c in r.get("readers", {}).get(n, (0, {}))[1]})
            for c in classes:
                row("  %s replies %s" % (n, c), [r["readers"][n][1].get(c, 0)
                                                 if n in r.get("readers", {}) else None
                                                 for r in results], None, 0)
    row("postmap errors", [sum(len(x["errors"]) for n in clients for x in r["lookups"][n])
                           for r in results], None, 0)
    if has_base:
        # Mutation batches ran between the two lookup phases (the baseline's, and the current
        # build's before its lookups): keys (and answers) in the domains they touched may differ
        # by design, so they are left out.
        a, b = results[0]["lookups"]["answers"], results[1]["lookups"]["answers"]
        touched = info.get("touched", set())

        def clean(k):
            return _domain(k) not in touched and not any(
                _domain(v) in touched for v in a.get(k, frozenset()) | b.get(k, frozenset()))
        compared = [k for k in info["keys"] if clean(k)]
        diff = sorted(k for k in compared if a.get(k) != b.get(k))
        row("answers differing from the baseline's", [None, len(diff)], None, 0)
        row("  of keys compared (outside mutated domains)",
            [None, len(compared)], None, 0)
        info["answer_diff"] = [(k, a.get(k), b.get(k)) for k in diff[:5]]

    # -- print ------------------------------------------------------------------------------
    print()
    print("=" * 100)
    print("size %s: %s domains, %s mailboxes, %s aliases (seed %d): generated in %.1f s, "
          "loaded into MariaDB in %.1f s" % (size, "{:,}".format(n_domains),
                                             "{:,}".format(n_mailboxes),
                                             "{:,}".format(n_aliases), args.seed,
                                             info["t_gen"], info["t_load"]))
    print("rows in the database: %s domains, %s addresses (%s mailboxes), %s forwardings, %s "
          "domain aliases" % tuple("{:,}".format(c) for c in info["counts"]))
    width = 52
    head = "%-*s" % (width, "metric") + "".join("%16s" % c[:15] for c in cols) + (
        "%9s" % "ratio" if has_base else "")
    print(head)
    print("-" * len(head))
    for metric, values, better, digits in rows:
        if values is None:
            print(metric)
            continue
        line = "%-*s" % (width, "  " + metric) + "".join("%16s" % fmt(v, digits) for v in values)
        if has_base and all(isinstance(v, (int, float)) for v in values) and values[0] > 0 \
                and values[1] > 0:
            if values[0] != float("inf") and values[1] != float("inf"):
                line += "%9s" % ("x%.2f" % (values[1] / values[0]))
        print(line)
    if info.get("answer_diff"):
        print("answers differing (first %d): %s" % (len(info["answer_diff"]), "; ".join(
            "%s: %s vs %s" % (k, _fa(x), _fa(y)) for k, x, y in info["answer_diff"])))

    print()
    print("targets (the issue's), per build:")
    verdicts(size, target, results, clients)
    print()
    for r in results:
        problems(r)


def _median(values):
    return statistics.median(values) if values else None


def _sum_medians(cpu):
    meds = [_median(v) for k, v in cpu.items() if not k.startswith("_")]
    return None if any(m is None for m in meds) else sum(meds)


def _domain(address):
    return address.rpartition("@")[2].lower()


def _fa(v):
    return "NOT FOUND" if v is None else ",".join(sorted(v))


def verdicts(size, target, results, clients):
    def line(ok, text):
        print("  %-5s %s" % ("PASS" if ok else "FAIL", text))

    for r in results:
        print(" %s:" % r["label"])
        for phase in ("load", "lookups") if target["memory"] is not None else ():
            for key in ("Rss", "Pss"):
                v = suite_sum(r["mem"][phase], key, SUITE)
                line(v < target["memory"], "suite %s sum after %s < %d MB at %s: %.1f MB" % (
                    key.upper(), phase, target["memory"], size, v))
        if target["load"] is not None:
            line(r["load_lookupd"] < target["load"], "lookupd load < %.0f s at %s: %.2f s" % (
                target["load"], size, r["load_lookupd"]))
        if target["served"] is not None:
            worst = max(r["served"])
            line(worst < target["served"], "every change served within %.0f s at %s: max %s" % (
                target["served"], size, "timeout" if worst == float("inf") else
                "%.0f ms" % (1e3 * worst)))
    if len(results) == 2:
        base, cur = results
        print(" %s vs %s:" % (cur["label"], base["label"]))
        for n in clients:
            b = [x["rate"] for x in base["lookups"][n]]
            c = [x["rate"] for x in cur["lookups"][n]]
            ok = statistics.median(c) >= statistics.median(b)
            overlap = min(c) <= max(b) and min(b) <= max(c)
            line(ok, "lookups/s with %d client%s not lower than the baseline's: %.0f vs %.0f "
                 "(x%.2f)%s" % (n, "" if n == 1 else "s", statistics.median(c),
                                statistics.median(b), statistics.median(c) /
                                statistics.median(b),
                                "" if ok or not overlap else
                                "; the min..max ranges overlap: within run-to-run noise"))


def problems(r):
    out = []
    for n, code in sorted(r.get("exit_codes", {}).items()):
        if code != 0:
            out.append("%s exited with %s" % (n, code))
    for n, lines in sorted(r.get("log_problems", {}).items()):
        out.append("%s logged %d warnings/errors%s:\n        %s" % (
            n, len(lines), " (the first 5)" if len(lines) > 5 else "",
            "\n        ".join(line.strip() for line in lines[:5])))
    if r.get("served_timeouts"):
        out.append("%d changes not served within the timeout" % r["served_timeouts"])
    for n in r.get("alive", {}):
        if not r["alive"][n]:
            out.append("%s was gone after the lookups" % n)
    # Anonymous memory only: a mapped routing image becomes resident where it is read, which
    # is expected growth of the file/shmem part.
    for phase in ("changes", "lookups"):
        for n, m in r["mem"].get(phase, {}).items():
            before = r["mem"]["load"].get(n)
            if before and m["RssAnon"] > before["RssAnon"] * 1.10 and \
                    m["RssAnon"] - before["RssAnon"] > 4096:
                out.append("%s anonymous RSS grew from %.1f MB after load to %.1f MB after the "
                           "%s" % (n, before["RssAnon"] / 1024, m["RssAnon"] / 1024, phase))
    out += r.get("notes", [])
    print("%s: %s" % (r["label"], "nothing wrong seen in the daemons (exit codes, logs, memory "
                                  "growth)" if not out else "\n    " + "\n    ".join(out)))
    print("  load line: %s" % r.get("load_line", "?"))


# ---------------------------------------------------------------------------------------------
# main


def pick_domains(db, n, seed):
    """Names of enabled domains that accept mail, for the new mailboxes of the changes."""
    rows = db.sql("SELECT name FROM domains WHERE enabled AND accepts_mail ORDER BY RAND(%d) "
                  "LIMIT %d" % (seed, n)).split()
    if not rows:
        raise RuntimeError("no enabled domain in the generated data")
    return rows


def take_lock(args):
    if args.no_lock:
        return None
    lock = open(LOCK_FILE, "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print("  waiting for %s (a build or test run holds it) ..." % LOCK_FILE, flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="100k,1m",
                    help="comma-separated: 100k, 1m (default both); 10k: a quick check of the "
                         "bench")
    ap.add_argument("--current-bin", default=os.path.join(ROOT, "build", "release"),
                    help="build directory of the current sources")
    ap.add_argument("--current-label", default="current")
    ap.add_argument("--baseline-bin", help="build directory of the baseline (none: current only)")
    ap.add_argument("--baseline-label", default="baseline")
    ap.add_argument("--extra-cf", default="",
                    help="more vhostmail.cf lines for every daemon of the current build "
                         "({dir} = its private directory), e.g. for a parameter it added")
    ap.add_argument("--baseline-extra-cf", default="", help="the same for the baseline")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--keys", type=int, default=100000, help="keys per lookup run")
    ap.add_argument("--clients", default="1,8", help="comma-separated client counts")
    ap.add_argument("--repeat", type=int, default=3, help="lookup runs per client count")
    ap.add_argument("--load-repeat", type=int, default=3,
                    help="full loads of lookupd alone; the median is reported")
    ap.add_argument("--pin", choices=("split", "same", "none"), default="split",
                    help="1 client: lookupd and postmap on different CPUs (split), on one "
                         "(same), or where the scheduler puts them (none)")
    ap.add_argument("--changes", type=int, default=20, help="changes timed until served")
    ap.add_argument("--cpu-changes", type=int, default=5, help="changes for the refresh CPU")
    ap.add_argument("--cpu-window", type=float, default=2.0,
                    help="seconds of CPU accounting per change (longer when a reload takes "
                         "longer)")
    ap.add_argument("--served-timeout", type=float, default=30.0)
    ap.add_argument("--load-timeout", type=float, default=900.0,
                    help="seconds a daemon may take to load its copy")
    ap.add_argument("--buffer-pool", help="innodb_buffer_pool_size (default: 256M at 100k, "
                    "2G at 1m)")
    ap.add_argument("--reader-keys", type=int, default=20000,
                    help="keys asked of policyd (recipient check) and lmtpd (RCPT) after the "
                         "lookups, so their copies are in use (0: none)")
    ap.add_argument("--image", choices=("auto", "on", "off"), default="auto",
                    help="one routing image per host (routing_image_file, in a private "
                         "directory on /dev/shm): auto = for each build that has the parameter")
    ap.add_argument("--no-mutations", action="store_true",
                    help="skip the refresh CPU of the generator's mutation batches")
    ap.add_argument("--no-milter", action="store_true", help="do not start vhostmail-milter")
    ap.add_argument("--no-lock", action="store_true", help="do not take " + LOCK_FILE)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    sizes = [s.strip().lower() for s in args.size.split(",") if s.strip()]
    bad = [s for s in sizes if s not in SIZES]
    if bad or not sizes:
        ap.error("--size: %s (known: %s)" % (",".join(bad) or "none", ", ".join(SIZES)))

    # Our own handlers (set before vhm_mariadb installs its kill-and-exit ones), so that the
    # finally blocks below run: postmaps, daemons, mariadbd and the temp dirs are cleaned up.
    def on_signal(signum, _frame):
        print("\nbench_scale: signal %d, cleaning up" % signum, file=sys.stderr)
        raise SystemExit(128 + signum)

    def on_interrupt(_signum, _frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_interrupt)  # not when ignored (background job)

    builds = []
    if args.baseline_bin:
        builds.append(Build(args.baseline_label, args.baseline_bin, args.baseline_extra_cf))
    builds.append(Build(args.current_label, args.current_bin, args.extra_cf))
    if len(builds) == 2 and builds[0].label == builds[1].label:
        builds[0].label += " (base)"
    for b in builds:
        b.image = args.image == "on" or (args.image == "auto" and b.knows_image)
        if b.image and not b.knows_image:
            print("bench_scale: %s has no routing_image_file (--image on)" % b.label,
                  file=sys.stderr)
            return 1
    missing = ["%s: %s" % (b.label, ", ".join(n for n in SUITE if n not in b.binaries))
               for b in builds if any(n not in b.binaries for n in SUITE)]
    reason = vhm_mariadb.unavailable_reason()
    if missing or reason or not which("postmap"):
        print("bench_scale: missing %s" % "; ".join(
            missing + ([reason] if reason else []) + ([] if which("postmap") else ["postmap"])),
            file=sys.stderr)
        return 1
    if os.geteuid() != 0:
        print("bench_scale: run as root (the daemons drop privileges; smaps_rollup of other "
              "users' processes)", file=sys.stderr)
        return 1
    try:
        import vhm_routing_data  # noqa: F401
    except ImportError as e:
        print("bench_scale: tests/integration/vhm_routing_data.py: %s" % e, file=sys.stderr)
        return 1

    t_start = time.monotonic()
    for b in builds:
        print(b.describe())
    tmp = tempfile.mkdtemp(prefix="vhm-bench-scale-", dir="/tmp")
    os.chmod(tmp, 0o755)  # the daemons run as nobody
    # The routing images go on a tmpfs, as the man page asks (here /tmp is a disk).
    shm = tempfile.mkdtemp(prefix="vhm-bench-scale-",
                           dir="/dev/shm" if os.path.isdir("/dev/shm") else tmp)
    os.chmod(shm, 0o755)
    lock = None
    failed = []
    try:
        for size in sizes:
            t_size = time.monotonic()
            print("\n--- size %s: generating ..." % size, flush=True)
            per_build = 0 if args.no_mutations else args.cpu_changes
            ds, keys, mutations, t_gen = generate(args, size, per_build * len(builds))
            print("  generated in %.1f s; %d keys, %d mutation batches" % (
                t_gen, len(keys), len(mutations)), flush=True)
            pool = args.buffer_pool or SIZES[size][3]
            with vhm_mariadb.private_mariadb(
                    extra_args=["--innodb-buffer-pool-size=" + pool,
                                "--max-allowed-packet=256M"]) as db:
                os.chmod(db.tmpdir, 0o755)
                t_load, counts = load_database(db, ds)
                del ds  # the generator's copy of a million rows is not needed any more
                print("  loaded into MariaDB in %.1f s: %s" % (t_load, counts), flush=True)
                quiet = wait_quiet([db.pid], max_wait=300)
                print("  mariadbd idle after %.1f s more (purge)" % quiet, flush=True)
                info = {"t_gen": t_gen, "t_load": t_load, "counts": counts, "keys": keys,
                        "touched": {_domain(k) for m in mutations
                                    for k in getattr(m, "keys", ())}}
                results = []
                failed_before = len(failed)
                for i, b in enumerate(builds):
                    btmp = os.path.join(tmp, "%s-%d" % (size, i))
                    os.makedirs(btmp)
                    os.chmod(btmp, 0o755)
                    lock = take_lock(args)
                    try:
                        print("  %s: measuring (holding %s)" % (b.label, LOCK_FILE
                                                                if lock else "no lock"),
                              flush=True)
                        wait_quiet([db.pid], max_wait=60)
                        # Each build applies mutations of its own: the same batch twice would
                        # change nothing the second time.
                        results.append(measure_build(
                            b, i, db, btmp, os.path.join(shm, "%s-%d" % (size, i)),
                            {"keys": keys}, args,
                            mutations[i * per_build:(i + 1) * per_build]))
                    except Exception as e:  # noqa: BLE001 - reported; the other build goes on
                        print("  %s FAILED: %s" % (b.label, e), flush=True)
                        failed.append((size, b.label, str(e).splitlines()[0]))
                    finally:
                        if lock is not None:
                            lock.close()
                            lock = None
                    if not args.keep:
                        shutil.rmtree(btmp, ignore_errors=True)
                        shutil.rmtree(os.path.join(shm, "%s-%d" % (size, i)),
                                      ignore_errors=True)
                if results:
                    report(size, info, results, args)
                if len(failed) > failed_before:
                    print("FAILED at %s: %s" % (size, "; ".join(
                        "%s: %s" % (label, why) for sz, label, why in failed[failed_before:])))
                print("size %s took %.0f s (generation + load %.0f s)" % (
                    size, time.monotonic() - t_size, t_gen + t_load))
        print("\ntotal bench time %.0f s" % (time.monotonic() - t_start))
        return 1 if failed else 0
    finally:
        for p in list(RUNNING):
            try:
                p.kill()
            except OSError:
                pass
        if lock is not None:
            lock.close()
        if args.keep:
            print("kept", tmp, shm)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(shm, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
