#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench_lookup - vhostmail-lookupd vs Postfix's native mysql: table, measured with postmap.

Python 3 standard library only. Normally started by bench/lookup/run.sh (which builds lookupd
in release mode and installs missing packages first); not part of the test suite.

What it does, all in private temporary directories (no system service is touched):
  1. generates a seeded synthetic database: --domains (1,000) domains, --mailboxes (100,000)
     mailbox addresses, --aliases (50,000) alias addresses with 1-2 forwardings each (to a
     hosted mailbox or a remote address); 10% of the domains have a catch-all fallback (half
     "catchall" = the domain's own catchall mailbox, half "@relay.example.net" = remote);
  2. starts a private mariadbd (tests/integration/vhm_mariadb.py, buffer pool --buffer-pool so the
     data is cached for both contenders), loads sql/migrations/*.sql and the data through the
     mariadb client (multi-row INSERTs, all triggers and constraints active), ANALYZEs, waits
     until the server is idle (InnoDB purge of the load's undo log);
  3. starts vhostmail-lookupd (tcp_table + socketmap listeners) and waits for its snapshot;
  4. under flock(/tmp/vhm-build.lock), so no build or test suite competes for the 2 cores, runs
     `postmap -q - MAP < keys` with the same --keys (100,000) keys against
        lookupd tcp:        tcp:127.0.0.1:PORT              (lookupd's "aliases" map)
        lookupd socketmap:  socketmap:unix:SOCK:aliases
        native mysql:       mysql:CONF/aliases.cf           (the query below)
     with 1 client (all keys) and with 8 clients (8 postmap processes started together, each on
     its own contiguous share of the keys, like many Postfix processes), --repeat times,
     interleaved round-robin so drifting machine load hits every contender alike;
  5. prints per contender and client count: lookups/s (median over the repeats, with min..max;
     aggregate = keys / wall time of the slowest client), the server's CPU time per lookup
     (utime+stime of lookupd's process, or of mariadbd's, from /proc/PID/stat before and after
     each phase, and the system-time part of it; this includes their background threads:
     lookupd's 250 ms change-serial poll, InnoDB's timers; the idle rate of both is printed
     first), the clients' (postmap's) CPU per lookup (wait4 rusage), found keys and wrong
     answers; then the ratios against the native table and PASS/FAIL for the targets:
        8 clients: lookupd's aggregate rate >= 2x the native table's;
        server CPU per lookup <= 1/5 of mariadbd's (checked at each client count);
        1 client:  lookupd's rate >= the native table's.
     Exit status 0 whatever the results (a report); 1 only when the bench itself failed.

Both sides answer virtual_alias_maps. The native table is what a careful admin writes today:
    query = SELECT f.destination FROM forwardings f JOIN addresses a ON a.id = f.address_id
            JOIN domains d ON d.id = a.domain_id
            WHERE a.local_part = '%u' AND d.name = '%d' AND a.enabled AND d.enabled

Keys (shuffled; the generator knows the expected answer of each contender for each key):
    40% alias addresses            both: the forwarding destinations (compared as a set)
    30% mailbox addresses          both: not found (lookupd: "just its own mailbox")
    12% unknown user, hosted domain without fallback        both: not found
    10% unknown domain             both: not found
     4% unknown user in a domain with a fallback (catch-all)
                                   lookupd: the fallback's destination; mysql: not found
     4% alias address with a +extension (alias+tag@domain)
                                   lookupd: the destinations with +tag propagated
                                   (propagate_unmatched_extensions); mysql: not found
The last two rows differ BY DESIGN: lookupd resolves catch-alls and address extensions itself,
while one mysql query answers only the exact key (in a real Postfix, mail_addr_map would also try
user@domain and @domain, i.e. up to 3 queries for such a key; `postmap -q` asks only once).
"wrong" counts keys whose answer differs from the generator's expectation for that contender.

Then the srs_forward row (sender_canonical_maps with SRS, docs/srs.md): --keys senders outside the
hosted domains, against lookupd's srs_forward map (tcp: and socketmap:) and Debian's postsrsd
(1.x: tcp_table, the same secret, started here), --repeat runs each with 1 and 8 clients. Every
answer is compared with the SRS0 address the scheme gives (both must write the same ones).
Target: 8 clients, lookupd's rate >= 5x postsrsd's. --no-srs skips it.
"""

import argparse
import base64
import ctypes
import fcntl
import grp
import hashlib
import hmac
import os
import random
import shutil
import signal
import socket
import statistics
import string
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import vhm_mariadb  # noqa: E402

LOCK_FILE = "/tmp/vhm-build.lock"
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin", "/sbin"])
CLK_TCK = os.sysconf("SC_CLK_TCK")

NATIVE_QUERY = ("SELECT f.destination FROM forwardings f JOIN addresses a ON a.id = f.address_id "
                "JOIN domains d ON d.id = a.domain_id "
                "WHERE a.local_part = '%u' AND d.name = '%d' AND a.enabled AND d.enabled")

FIRST = ("anna ben carl dora emil frieda gustav hanna ida jonas karl lena max nora otto paula "
         "quentin rosa sven tina ulf vera willi xenia yusuf zoe alex chris kim sam robin noah "
         "mia leon lea felix lina paul emma luis marie").split()
LAST = ("mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann koch "
        "richter klein wolf neumann schwarz braun zimmermann krueger hartmann lange werner "
        "krause lehmann koehler maier huber kaiser fuchs peters scholz moeller weiss jung hahn "
        "vogel friedrich keller guenther frank berger winkler roth beck lorenz").split()
WORDS = ("alpha blue cedar delta echo forest granite harbor iris juniper kestrel lumen maple "
         "nimbus ocean pine quartz river summit tundra umber valley willow xylo yarrow zephyr "
         "amber birch copper dune ember fjord glacier heath island jade").split()
TLDS = ("com", "net", "org", "de", "eu", "io")
ROLES = ("info", "sales", "support", "office", "billing", "team", "contact", "jobs", "press",
         "webmaster", "abuse", "hostmaster", "noc", "security", "hello", "admin")
SAFE = set(string.ascii_lowercase + string.digits + ".-@+")


# ---------------------------------------------------------------------------------------------
# data


class Dataset:
    def __init__(self, seed, n_domains, n_mailboxes, n_aliases, n_keys):
        rng = random.Random(seed)
        self.domains = []          # (id, name, fallback)
        self.addresses = []        # (id, domain_id, local, is_mailbox, password)
        self.forwardings = []      # (address_id, destination)
        self.mailbox_addrs = []    # "local@domain"
        self.alias_fw = {}         # "local@domain" -> [destinations]
        self.alias_addrs = []
        self.locals = {}           # domain name -> set of local parts in use
        self.fallback = {}         # domain name -> fallback text

        names = set()
        for i in range(1, n_domains + 1):
            while True:
                name = "%s-%s%d.%s" % (rng.choice(WORDS), rng.choice(WORDS), i, rng.choice(TLDS))
                if name not in names:
                    break
            names.add(name)
            fallback = ""
            if i % 10 == 0:  # 10% of the domains: a catch-all
                fallback = "catchall" if i % 20 == 0 else "@relay.example.net"
            self.domains.append((i, name, fallback))
            self.locals[name] = set()
            if fallback:
                self.fallback[name] = fallback
        # Mildly skewed domain sizes, like real hosting (a few big domains, many small ones).
        weights = [1.0 / (k + 1) ** 0.7 for k in range(n_domains)]
        rng.shuffle(weights)
        cum = []
        total = 0.0
        for w in weights:
            total += w
            cum.append(total)

        def pick_domain():
            return self.domains[min(_bisect(cum, rng.random() * total), n_domains - 1)]

        next_id = 1

        def new_local(dom_name, mailbox):
            for attempt in range(1000):
                r = rng.random()
                if not mailbox and r < 0.3:
                    local = rng.choice(ROLES) + ("" if attempt < 3 else str(rng.randrange(1000)))
                elif r < 0.6:
                    local = "%s.%s" % (rng.choice(FIRST), rng.choice(LAST))
                    if attempt >= 2 or rng.random() < 0.5:
                        local += str(rng.randrange(100))
                else:
                    local = "%s%s%d" % (rng.choice(FIRST)[0], rng.choice(LAST),
                                        rng.randrange(1000))
                if local not in self.locals[dom_name]:
                    self.locals[dom_name].add(local)
                    return local
            raise RuntimeError("cannot find a free local part in " + dom_name)

        # catch-all mailboxes first, so that "catchall" fallbacks reach a mailbox
        catchall_domains = [d for d in self.domains if d[2] == "catchall"]
        for d in catchall_domains:
            self.locals[d[1]].add("catchall")
            self.addresses.append((next_id, d[0], "catchall", True, self._password(rng)))
            self.mailbox_addrs.append("catchall@" + d[1])
            next_id += 1
        for _ in range(n_mailboxes - len(catchall_domains)):
            d = pick_domain()
            local = new_local(d[1], True)
            self.addresses.append((next_id, d[0], local, True, self._password(rng)))
            self.mailbox_addrs.append(local + "@" + d[1])
            next_id += 1
        for _ in range(n_aliases):
            d = pick_domain()
            local = new_local(d[1], False)
            self.addresses.append((next_id, d[0], local, False, None))
            address = local + "@" + d[1]
            dests = []
            for _k in range(1 if rng.random() < 0.7 else 2):
                while True:
                    if rng.random() < 0.75:
                        dest = rng.choice(self.mailbox_addrs)
                    else:
                        dest = "%s.%s@ext%d.example.org" % (rng.choice(FIRST), rng.choice(LAST),
                                                             rng.randrange(500))
                    if dest not in dests:
                        break
                dests.append(dest)
                self.forwardings.append((next_id, dest))
            self.alias_fw[address] = dests
            self.alias_addrs.append(address)
            next_id += 1

        self.keys, self.expect_lookupd, self.expect_mysql, self.kind = self._keys(rng, n_keys)

    @staticmethod
    def _password(rng):
        return "{SHA512-CRYPT}$6$%016x$%086x" % (rng.getrandbits(64), rng.getrandbits(340))

    def _keys(self, rng, n):
        fallback_domains = sorted(self.fallback)
        plain_domains = [d[1] for d in self.domains if not d[2]]
        mix = [("alias", 0.40), ("mailbox", 0.30), ("unknown_user", 0.12),
               ("unknown_domain", 0.10), ("catchall", 0.04), ("alias_ext", 0.04)]
        keys, exp_l, exp_m, kind = [], {}, {}, {}
        for name, share in mix:
            for _ in range(int(round(n * share))):
                if name == "alias":
                    key = rng.choice(self.alias_addrs)
                    exp_l[key] = exp_m[key] = frozenset(self.alias_fw[key])
                elif name == "mailbox":
                    key = rng.choice(self.mailbox_addrs)
                    exp_l[key] = exp_m[key] = None
                elif name == "unknown_user":
                    dom = rng.choice(plain_domains)
                    key = self._unknown_local(rng, dom) + "@" + dom
                    exp_l[key] = exp_m[key] = None
                elif name == "unknown_domain":
                    key = "%s.%s@%s-%d.example.com" % (rng.choice(FIRST), rng.choice(LAST),
                                                       rng.choice(WORDS), rng.randrange(10**6))
                    exp_l[key] = exp_m[key] = None
                elif name == "catchall":
                    dom = rng.choice(fallback_domains)
                    local = self._unknown_local(rng, dom)
                    key = local + "@" + dom
                    fb = self.fallback[dom]
                    exp_l[key] = frozenset(["catchall@" + dom if fb == "catchall"
                                            else local + fb])
                    exp_m[key] = None
                else:  # alias_ext
                    base = rng.choice(self.alias_addrs)
                    tag = rng.choice(("news", "shop", "lists", "x%d" % rng.randrange(100)))
                    key = _with_ext(base, tag)
                    exp_l[key] = frozenset(_with_ext(d, tag) for d in self.alias_fw[base])
                    exp_m[key] = None
                keys.append(key)
                kind[key] = name
        while len(keys) < n:  # rounding
            key = rng.choice(self.mailbox_addrs)
            exp_l[key] = exp_m[key] = None
            kind[key] = "mailbox"
            keys.append(key)
        del keys[n:]
        rng.shuffle(keys)
        return keys, exp_l, exp_m, kind

    def _unknown_local(self, rng, dom):
        while True:
            local = "nobody-%s%d" % (rng.choice(FIRST), rng.randrange(10**7))
            if local not in self.locals[dom]:
                return local

    def write_sql(self, path):
        def rows(out, head, items, fmt, chunk=2000):
            for i in range(0, len(items), chunk):
                out.write(head)
                out.write(",\n".join(fmt(r) for r in items[i:i + chunk]))
                out.write(";\n")

        def q(s):
            assert set(s) <= SAFE or s.startswith("{SHA512"), s
            return "'" + s + "'"

        with open(path, "w") as out:
            out.write("SET autocommit = 0;\n")
            rows(out, "INSERT INTO domains (id, name, fallback) VALUES\n", self.domains,
                 lambda r: "(%d,%s,%s)" % (r[0], q(r[1]), q(r[2])))
            rows(out, "INSERT INTO addresses (id, domain_id, local_part, mailbox, password)"
                      " VALUES\n", self.addresses,
                 lambda r: "(%d,%d,%s,%s,%s)" % (r[0], r[1], q(r[2]), "TRUE" if r[3] else "FALSE",
                                                 q(r[4]) if r[4] else "NULL"))
            rows(out, "INSERT INTO forwardings (address_id, destination) VALUES\n",
                 self.forwardings, lambda r: "(%d,%s)" % (r[0], q(r[1])))
            out.write("COMMIT;\n")


def _bisect(cum, x):
    lo, hi = 0, len(cum)
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def _with_ext(address, tag):
    local, _, domain = address.rpartition("@")
    return "%s+%s@%s" % (local, tag, domain)


# ---------------------------------------------------------------------------------------------
# processes


def cpu_times(pid):
    """(utime, stime) of a whole process (all threads, dead ones included), in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime/stime are fields 14/15
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def tree_cpu(pid):
    """CPU seconds of a process and its children, living, zombie or reaped (postsrsd forks one
    per connection)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total = sum(int(x) for x in fields[11:15]) / CLK_TCK  # utime stime cutime cstime
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            children = [int(c) for c in f.read().split()]
    except OSError:
        children = []
    for child in children:
        try:
            total += sum(cpu_times(child))
        except OSError:
            pass  # reaped meanwhile: counted in cutime at the next reading
    return total


def cpu_seconds(pid):
    return sum(cpu_times(pid))


def rss_mb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def wait_quiet(pid, what, max_wait=90.0, window=1.0, max_cpu_fraction=0.02):
    """Waits until `pid` uses less than max_cpu_fraction of a core over `window` seconds."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < max_wait:
        c0 = cpu_seconds(pid)
        time.sleep(window)
        used = cpu_seconds(pid) - c0
        if used <= max_cpu_fraction * window:
            return time.monotonic() - t0
    print("  note: %s still busy after %.0f s; measuring anyway" % (what, max_wait))
    return time.monotonic() - t0


def task_cpu_ns(pid):
    """Precise CPU time (ns) of the live threads of `pid` (/proc/PID/task/*/schedstat)."""
    total = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        except OSError:
            pass
    return total


def _term_with_parent():
    # In the child between fork and exec: SIGTERM when the bench dies, however it dies.
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def which(name):
    return shutil.which(name, path=SBIN_PATH)


SRS_DOMAIN = "bounces.bench.example"
SRS_SECRET = "bench secret"
POSTSRSD = "/usr/sbin/postsrsd"


def srs_secret_file(tmp):
    """The SRS secret as the package keeps it: root, the daemons' group (nobody's), 0640."""
    path = os.path.join(tmp, "srs.secret")
    with open(path, "w") as f:
        f.write(SRS_SECRET + "\n")
    os.chown(path, 0, grp.getgrnam("nogroup").gr_gid)
    os.chmod(path, 0o640)
    return path


def srs0(sender, day):
    """The SRS0 address of sender on `day` (days since the epoch), by the scheme."""
    local, _, domain = sender.rpartition("@")
    b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    stamp = b32[(day % 1024) >> 5] + b32[day % 32]
    mac = hmac.new(SRS_SECRET.encode(), (stamp + domain + local).lower().encode(), hashlib.sha1)
    return "SRS0=%s=%s=%s=%s@%s" % (base64.b64encode(mac.digest()).decode()[:4], stamp, domain,
                                    local, SRS_DOMAIN)


class Postsrsd:
    """Debian's postsrsd in the foreground on two loopback ports (it forks per connection)."""

    def __init__(self, secret_file, tmp):
        self.forward_port, self.reverse_port = free_port(), free_port()
        self.log = open(os.path.join(tmp, "postsrsd.log"), "w")
        self.proc = subprocess.Popen(
            [POSTSRSD, "-s" + secret_file, "-d" + SRS_DOMAIN, "-l127.0.0.1",
             "-f%d" % self.forward_port, "-r%d" % self.reverse_port],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
            preexec_fn=_term_with_parent)
        self.pid = self.proc.pid
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.forward_port), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("postsrsd did not start")
                time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Lookupd:
    def __init__(self, binary, tmp, db, user, password, srs_secret=None):
        self.tmp = tmp
        self.sock = os.path.join(tmp, "lookupd.sock")
        self.ports = {m: free_port() for m in ("aliases", "mailboxes", "domains", "senders",
                                               "srs_forward")}
        self.log = os.path.join(tmp, "lookupd.log")
        cf = os.path.join(tmp, "vhostmail.cf")
        open(cf, "w").close()  # empty: never read /etc/vhostmail/vhostmail.cf
        tcp = " ".join("%s=127.0.0.1:%d" % (m, p) for m, p in self.ports.items())
        self.args = [binary, "-f", "-c", cf,
                     "-o", "db_hosts=unix:" + db.socket, "-o", "db_user=" + user,
                     "-o", "db_password=" + password, "-o", "db_name=" + db.database,
                     "-o", "mail_owner_user=nobody",
                     "-o", "lookupd_socketmap_listen=unix:" + self.sock,
                     "-o", "lookupd_tcp_listen=" + tcp,
                     "-o", "lookupd_socket_mode=0666"]
        if srs_secret:
            self.args += ["-o", "srs_domain=" + SRS_DOMAIN, "-o", "srs_secret_file=" + srs_secret]
        self.proc = None
        self.pid = None
        self.watchdog = None

    def start(self, timeout=180):
        t0 = time.monotonic()
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err)
        self.pid = self.proc.pid
        # lookupd loses any parent-death signal when it drops privileges, so a watchdog shell
        # (which keeps one) stops it and removes the temporary directory should this script be
        # SIGKILLed. Stopped with SIGKILL (no trap) when all goes well.
        self.watchdog = subprocess.Popen(
            ["/bin/sh", "-c",
             'trap \'kill -TERM $0; i=0; while kill -0 $0 && [ $i -lt 15 ]; do sleep 1; '
             'i=$((i+1)); done; kill -0 $0 && kill -KILL $0; rm -rf "$1"; exit 0\' TERM; '
             'while kill -0 $0; do sleep 1; done', str(self.pid), self.tmp],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=_term_with_parent)
        while time.monotonic() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError("lookupd exited with %s:\n%s" % (self.proc.returncode,
                                                                   self.log_text()))
            if "routing data loaded" in self.log_text():
                return time.monotonic() - t0
            time.sleep(0.05)
        raise RuntimeError("lookupd did not load its snapshot in %d s:\n%s" % (timeout,
                                                                               self.log_text()))

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self.watchdog is not None:
            self.watchdog.kill()  # SIGKILL: no trap, nothing left to stop
            self.watchdog.wait()
            self.watchdog = None


# ---------------------------------------------------------------------------------------------
# measuring

RUNNING = []  # postmap processes of the current phase, killed on the way out


def run_phase(postmap, confdir, table, shares, server_pid, outdir, label):
    """Runs one postmap per share file at once; returns a result dict."""
    outs = []
    procs = []
    cpu0 = cpu_times(server_pid)
    t0 = time.monotonic()
    for i, share in enumerate(shares):
        out = os.path.join(outdir, "%s.%d.out" % (label, i))
        err = os.path.join(outdir, "%s.%d.err" % (label, i))
        with open(share, "rb") as fin, open(out, "wb") as fout, open(err, "wb") as ferr:
            p = subprocess.Popen([postmap, "-c", confdir, "-q", "-", table], stdin=fin,
                                 stdout=fout, stderr=ferr, preexec_fn=_term_with_parent)
        procs.append(p)
        RUNNING.append(p)
        outs.append((out, err))
    client_cpu = 0.0
    status = []
    for p in procs:  # wall time = when the slowest has finished
        _, st, ru = os.wait4(p.pid, 0)
        client_cpu += ru.ru_utime + ru.ru_stime
        status.append(os.waitstatus_to_exitcode(st))
        p.returncode = status[-1]  # reaped here, for Popen's bookkeeping
        RUNNING.remove(p)
    wall = time.monotonic() - t0
    cpu1 = cpu_times(server_pid)
    return {"wall": wall, "server_cpu": sum(cpu1) - sum(cpu0), "server_sys": cpu1[1] - cpu0[1],
            "client_cpu": client_cpu,
            "outs": outs, "status": status}


def check_answers(outs, expect):
    """Parses postmap outputs; returns (found, wrong, wrong_examples, error_lines)."""
    found = 0
    seen = {}
    errors = []
    for out, err in outs:
        with open(out, errors="replace") as f:
            for line in f:
                key, _, value = line.rstrip("\n").partition("\t")
                seen[key] = frozenset(v.strip() for v in value.split(","))
                found += 1
        with open(err, errors="replace") as f:
            errors += [line.rstrip("\n") for line in f if line.strip()]
    wrong = 0
    examples = []
    for key, want in expect.items():
        got = seen.get(key)
        if got != want:
            wrong += 1
            if len(examples) < 5:
                examples.append("%s: want %s, got %s" % (key, _fmt(want), _fmt(got)))
    return found, wrong, examples, errors


def _fmt(v):
    return "NOT FOUND" if v is None else ",".join(sorted(v))


def expected_found(keys, expect):
    return sum(1 for k in keys if expect[k] is not None)


def split_keys(keys, n, tmp, tag):
    paths = []
    size = (len(keys) + n - 1) // n
    for i in range(n):
        path = os.path.join(tmp, "keys.%s.%d.txt" % (tag, i))
        with open(path, "w") as f:
            f.write("".join(k + "\n" for k in keys[i * size:(i + 1) * size]))
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------
# main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--domains", type=int, default=1000)
    ap.add_argument("--mailboxes", type=int, default=100000)
    ap.add_argument("--aliases", type=int, default=50000)
    ap.add_argument("--keys", type=int, default=100000)
    ap.add_argument("--clients", default="1,8", help="comma-separated client counts")
    ap.add_argument("--repeat", type=int, default=5, help="runs per phase (median reported)")
    ap.add_argument("--buffer-pool", default="256M", help="innodb_buffer_pool_size")
    ap.add_argument("--lookupd", default=os.path.join(ROOT, "build", "release", "daemons",
                                                      "lookupd", "vhostmail-lookupd"))
    ap.add_argument("--no-lock", action="store_true", help="do not take " + LOCK_FILE)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--no-srs", action="store_true", help="skip the srs_forward row")
    args = ap.parse_args()
    clients = [int(c) for c in args.clients.split(",") if c.strip()]

    # Our own handlers (set before vhm_mariadb installs its kill-and-exit ones), so that the
    # finally blocks below run: postmaps, lookupd, mariadbd and the temp dirs are cleaned up.
    def on_signal(signum, _frame):
        print("\nbench_lookup: signal %d, cleaning up" % signum, file=sys.stderr)
        raise SystemExit(128 + signum)

    def on_interrupt(_signum, _frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_interrupt)  # not when ignored (background job)

    postmap = which("postmap")
    missing = [n for n, p in (("postmap", postmap), ("lookupd", args.lookupd)) if not p or
               not os.path.exists(p)]
    reason = vhm_mariadb.unavailable_reason()
    if missing or reason:
        print("bench_lookup: missing %s" % ", ".join(missing + ([reason] if reason else [])),
              file=sys.stderr)
        return 1
    if os.geteuid() != 0:
        print("bench_lookup: run as root (lookupd drops privileges to nobody; the mysql "
              "comparison reads mariadbd's /proc stat)", file=sys.stderr)
        return 1

    t_start = time.monotonic()
    try:
        rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    print("lookupd binary: %s (built %s); source tree %s" % (
        args.lookupd, time.strftime("%Y-%m-%d %H:%M:%S",
                                    time.localtime(os.stat(args.lookupd).st_mtime)),
        rev or "?"))
    tmp = tempfile.mkdtemp(prefix="vhm-bench-lookup-", dir="/tmp")
    os.chmod(tmp, 0o755)  # lookupd runs as nobody
    lookupd = None
    lock = None
    try:
        # -- data -------------------------------------------------------------------------
        t0 = time.monotonic()
        data = Dataset(args.seed, args.domains, args.mailboxes, args.aliases, args.keys)
        sql_path = os.path.join(tmp, "data.sql")
        data.write_sql(sql_path)
        with open(os.path.join(tmp, "keys.txt"), "w") as f:
            f.write("".join(k + "\n" for k in data.keys))
        kinds = {}
        for k in data.keys:
            kinds[data.kind[k]] = kinds.get(data.kind[k], 0) + 1
        print("data: seed %d, %d domains (%d with fallback), %d mailboxes, %d aliases "
              "(%d forwardings); generated in %.1f s" % (
                  args.seed, len(data.domains), len(data.fallback), len(data.mailbox_addrs),
                  len(data.alias_addrs), len(data.forwardings), time.monotonic() - t0))
        print("keys: %d (%s)" % (len(data.keys), ", ".join(
            "%s %d" % (k, kinds.get(k, 0)) for k in ("alias", "mailbox", "unknown_user",
                                                      "unknown_domain", "catchall",
                                                      "alias_ext"))))

        with vhm_mariadb.private_mariadb(
                extra_args=["--innodb-buffer-pool-size=" + args.buffer_pool]) as db:
            os.chmod(db.tmpdir, 0o755)  # lookupd (as nobody) reaches the socket
            t0 = time.monotonic()
            for name in sorted(os.listdir(os.path.join(ROOT, "sql", "migrations"))):
                if name.endswith(".sql"):
                    db.load_file(os.path.join(ROOT, "sql", "migrations", name))
            db.load_file(sql_path)
            db.sql("ANALYZE TABLE domains, addresses, forwardings;")
            db.sql("CREATE USER 'vhm'@'localhost' IDENTIFIED BY 'pw';\n"
                   "GRANT SELECT ON `%s`.* TO 'vhm'@'localhost';" % db.database, database=None)
            counts = db.sql("SELECT (SELECT COUNT(*) FROM domains), (SELECT COUNT(*) FROM "
                            "addresses), (SELECT COUNT(*) FROM forwardings), (SELECT "
                            "COALESCE(SUM(serial), 0) FROM routing_serial)").split()
            print("load: schema + data in %.1f s (rows: domains %s, addresses %s, forwardings "
                  "%s; routing serial %s)" % (time.monotonic() - t0, *counts))
            quiet = wait_quiet(db.pid, "mariadbd")
            print("mariadbd idle after %.1f s more (purge)" % quiet)

            confdir = os.path.join(tmp, "postfix")
            os.makedirs(confdir)
            open(os.path.join(confdir, "main.cf"), "w").close()
            with open(os.path.join(confdir, "aliases.cf"), "w") as f:
                f.write("hosts = unix:%s\nuser = vhm\npassword = pw\ndbname = %s\nquery = %s\n"
                        % (db.socket, db.database, NATIVE_QUERY))

            srs = not args.no_srs and os.access(POSTSRSD, os.X_OK)
            if not args.no_srs and not srs:
                print("srs_forward row skipped: %s not installed (apt-get install postsrsd)"
                      % POSTSRSD)
            lookupd = Lookupd(args.lookupd, tmp, db, "vhm", "pw",
                              srs_secret_file(tmp) if srs else None)
            ready = lookupd.start()
            print("lookupd: snapshot loaded %.1f s after start, RSS %.0f MB; mariadbd RSS "
                  "%.0f MB" % (ready, rss_mb(lookupd.pid), rss_mb(db.pid)))

            contenders = [
                ("lookupd tcp:", "tcp:127.0.0.1:%d" % lookupd.ports["aliases"], lookupd.pid,
                 data.expect_lookupd),
                ("lookupd socketmap:", "socketmap:unix:%s:aliases" % lookupd.sock, lookupd.pid,
                 data.expect_lookupd),
                ("native mysql:", "mysql:" + os.path.join(confdir, "aliases.cf"), db.pid,
                 data.expect_mysql),
            ]
            shares = {n: split_keys(data.keys, n, tmp, str(n)) for n in clients}
            outdir = os.path.join(tmp, "out")
            os.makedirs(outdir)

            if not args.no_lock:
                lock = open(LOCK_FILE, "a")
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    print("waiting for %s (a build or test run holds it) ..." % LOCK_FILE)
                    fcntl.flock(lock, fcntl.LOCK_EX)
            # Warm-up: a few thousand keys per contender (connections, caches, page faults).
            warm = split_keys(data.keys[:3000], 1, tmp, "warm")
            for label, table, pid, _ in contenders:
                run_phase(postmap, confdir, table, warm, pid, outdir, "warm")
            wait_quiet(db.pid, "mariadbd", max_wait=20)
            idle0 = (time.monotonic(), task_cpu_ns(lookupd.pid), task_cpu_ns(db.pid))
            time.sleep(3.0)
            idle1 = (time.monotonic(), task_cpu_ns(lookupd.pid), task_cpu_ns(db.pid))
            print("idle CPU (background work, included in the per-lookup figures): lookupd "
                  "%.2f ms/s, mariadbd %.2f ms/s (incl. answering lookupd's 4 change-serial "
                  "polls/s)" % (1e-6 * (idle1[1] - idle0[1]) / (idle1[0] - idle0[0]),
                                1e-6 * (idle1[2] - idle0[2]) / (idle1[0] - idle0[0])))

            results = {}  # (label, n) -> list of phase dicts
            t_measure = time.monotonic()
            for rep in range(args.repeat):
                for n in clients:
                    for ci, (label, table, pid, expect) in enumerate(contenders):
                        r = run_phase(postmap, confdir, table, shares[n], pid, outdir,
                                      "c%d.n%d" % (ci, n))
                        found, wrong, examples, errors = check_answers(r["outs"], expect)
                        r.update(found=found, wrong=wrong, examples=examples, errors=errors)
                        results.setdefault((label, n), []).append(r)
                        print("  run %d/%d  %-19s %d client%s  %8.0f lookups/s  server %6.1f "
                              "us/lookup  found %d  wrong %d%s" % (
                                  rep + 1, args.repeat, label, n, "" if n == 1 else "s",
                                  len(data.keys) / r["wall"],
                                  1e6 * r["server_cpu"] / len(data.keys), found, wrong,
                                  "  postmap errors %d" % len(errors) if errors else ""),
                              flush=True)
            measure_time = time.monotonic() - t_measure
            if lock is not None:
                lock.close()
                lock = None

            report(args, data, contenders, clients, results, measure_time)
            if srs:
                srs_row(args, postmap, confdir, lookupd, tmp, outdir, clients)
            lookupd_log = lookupd.log_text()
            lookupd_rss = rss_mb(lookupd.pid)
            lookupd.stop()
            bad = [line for line in lookupd_log.splitlines()
                   if ": warning:" in line or ": error:" in line or ": fatal:" in line]
            print()
            print("lookupd: RSS at the end %.0f MB; stderr has %d lines, %d warnings/errors%s"
                  % (lookupd_rss, len(lookupd_log.splitlines()), len(bad),
                     "" if not bad else ":\n    " + "\n    ".join(bad[:10])))
            print("total bench time %.0f s" % (time.monotonic() - t_start))
        return 0
    finally:
        for p in list(RUNNING):
            try:
                p.kill()
            except OSError:
                pass
        if lookupd is not None:
            lookupd.stop()
        if lock is not None:
            lock.close()
        if args.keep:
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def srs_row(args, postmap, confdir, lookupd, tmp, outdir, clients):
    """lookupd's srs_forward against postsrsd, under the same lock as the rest."""
    lock = None
    if not args.no_lock:
        lock = open(LOCK_FILE, "a")
        fcntl.flock(lock, fcntl.LOCK_EX)
    postsrsd = Postsrsd(os.path.join(tmp, "srs.secret"), tmp)
    try:
        rng = random.Random(args.seed)
        keys = ["%s.%s%d@%s%d.%s" % (rng.choice(FIRST), rng.choice(LAST), i, rng.choice(WORDS),
                                     i % 997, rng.choice(TLDS)) for i in range(args.keys)]
        day = int(time.time()) // 86400
        expect = {k: frozenset([srs0(k, day)]) for k in keys}
        contenders = [
            ("lookupd tcp:", "tcp:127.0.0.1:%d" % lookupd.ports["srs_forward"], lookupd.pid),
            ("lookupd socketmap:", "socketmap:unix:%s:srs_forward" % lookupd.sock, lookupd.pid),
            ("postsrsd tcp:", "tcp:127.0.0.1:%d" % postsrsd.forward_port, postsrsd.pid),
        ]
        shares = {n: split_keys(keys, n, tmp, "srs%d" % n) for n in clients}
        warm = split_keys(keys[:3000], 1, tmp, "srswarm")
        for label, table, pid in contenders:
            run_phase(postmap, confdir, table, warm, pid, outdir, "srswarm")
        rates, cpus, client_cpus = {}, {}, {}
        for rep_ in range(args.repeat):
            for n in clients:
                for ci, (label, table, pid) in enumerate(contenders):
                    cpu0 = tree_cpu(pid)
                    r = run_phase(postmap, confdir, table, shares[n], pid, outdir,
                                  "srs%d.n%d" % (ci, n))
                    time.sleep(0.2)  # the children of a forking server finish their exit
                    cpu = tree_cpu(pid) - cpu0
                    found, wrong, examples, errors = check_answers(r["outs"], expect)
                    rates.setdefault((label, n), []).append(len(keys) / r["wall"])
                    cpus.setdefault((label, n), []).append(1e6 * cpu / len(keys))
                    client_cpus.setdefault((label, n), []).append(
                        1e6 * r["client_cpu"] / len(keys))
                    print("  srs run %d/%d  %-19s %d client%s  %8.0f lookups/s  server %5.1f "
                          "us/lookup  found %d  wrong %d%s%s" % (
                              rep_ + 1, args.repeat, label, n, "" if n == 1 else "s",
                              len(keys) / r["wall"], 1e6 * cpu / len(keys), found, wrong,
                              "  postmap errors %d" % len(errors) if errors else "",
                              "  e.g. " + examples[0] if examples else ""),
                          flush=True)
    finally:
        postsrsd.stop()
        if lock is not None:
            lock.close()
    print()
    print("srs_forward (sender_canonical_maps): lookupd vs postsrsd %s, %d outside senders, "
          "median of %d runs" % (subprocess.run([POSTSRSD, "-v"], capture_output=True,
                                                text=True).stdout.strip(), len(keys),
                                 args.repeat))
    for n in clients:
        base = statistics.median(rates[("postsrsd tcp:", n)])
        base_cpu = statistics.median(cpus[("postsrsd tcp:", n)])
        for label, _, _ in contenders:
            rate = statistics.median(rates[(label, n)])
            cpu = statistics.median(cpus[(label, n)])
            print("  %-19s %d client%s %9.0f lookups/s   x%.2f postsrsd   server %5.1f us/lookup"
                  " (1/%.1f of postsrsd's)   client (postmap) %5.1f us/lookup" % (
                      label, n, " " if n == 1 else "s", rate, rate / base, cpu,
                      base_cpu / cpu if cpu > 0 else float("inf"),
                      statistics.median(client_cpus[(label, n)])))
    if 8 in clients:
        base = statistics.median(rates[("postsrsd tcp:", 8)])
        for label in ("lookupd tcp:", "lookupd socketmap:"):
            ratio = statistics.median(rates[(label, 8)]) / base
            print("  %-6s %-19s 8 clients: rate >= 5x postsrsd   x%.2f" % (
                "PASS" if ratio >= 5 else "FAIL", label, ratio))


def report(args, data, contenders, clients, results, measure_time):
    nkeys = len(data.keys)
    print()
    print("vhostmail-lookupd vs Postfix native mysql: (virtual_alias_maps), postmap -q -, "
          "%d keys, median of %d runs (%.0f s of measuring)" % (nkeys, args.repeat,
                                                               measure_time))
    print("expected found keys: lookupd %d, native mysql %d (the difference is by design: "
          "catch-alls and +extensions)" % (expected_found(data.keys, data.expect_lookupd),
                                           expected_found(data.keys, data.expect_mysql)))
    print()
    head = ("%-19s %7s %10s %15s %14s %11s %13s %6s %5s %6s" % (
        "contender", "clients", "lookups/s", "(min..max)", "server us/lkp", "(of it sys)",
        "client us/lkp", "found", "wrong", "errors"))
    print(head)
    print("-" * len(head))
    summary = {}
    for n in clients:
        for label, _, _, _ in contenders:
            runs = results[(label, n)]
            rates = [nkeys / r["wall"] for r in runs]
            srv = [1e6 * r["server_cpu"] / nkeys for r in runs]
            cli = [1e6 * r["client_cpu"] / nkeys for r in runs]
            sys_ = [1e6 * r["server_sys"] / nkeys for r in runs]
            rate = statistics.median(rates)
            s = statistics.median(srv)
            summary[(label, n)] = (rate, s)
            errors = sum(len(r["errors"]) for r in runs)
            failed = sum(1 for r in runs for st in r["status"] if st != 0)
            print("%-19s %7d %10.0f %15s %14.1f %11.1f %13.1f %6d %5d %6s" % (
                label, n, rate, "(%.0f..%.0f)" % (min(rates), max(rates)), s,
                statistics.median(sys_), statistics.median(cli), runs[-1]["found"],
                max(r["wrong"] for r in runs),
                "%d%s" % (errors, " exit!=0" if failed else "")))
        print()
    for (label, n), runs in results.items():
        for r in runs[:1]:
            if r["examples"]:
                print("%s %d clients, wrong answers (first of %d):\n    %s" % (
                    label, n, r["wrong"], "\n    ".join(r["examples"])))
            if r["errors"]:
                print("%s %d clients, postmap stderr (first of %d):\n    %s" % (
                    label, n, len(r["errors"]), "\n    ".join(r["errors"][:5])))

    native = "native mysql:"
    print("ratios vs native mysql: (rate = lookupd/native, server CPU = native/lookupd)")
    for label, _, _, _ in contenders:
        if label == native:
            continue
        for n in clients:
            rate, s = summary[(label, n)]
            nrate, ns = summary[(native, n)]
            print("  %-19s %d client%s  rate x%.2f   server CPU per lookup 1/%.1f" % (
                label, n, " " if n == 1 else "s", rate / nrate, ns / s if s > 0 else
                float("inf")))
    print()
    print("targets:")
    for label, _, _, _ in contenders:
        if label == native:
            continue
        if 8 in clients:
            rate, _ = summary[(label, 8)]
            nrate, _ = summary[(native, 8)]
            print("  %-6s %-19s 8 clients: rate >= 2x native   x%.2f" % (
                "PASS" if rate >= 2 * nrate else "FAIL", label, rate / nrate))
        for n in clients:
            part = summary[(label, n)][1] / summary[(native, n)][1]
            print("  %-6s %-19s %d client%s server CPU/lookup <= 1/5   1/%.1f" % (
                "PASS" if part <= 0.2 else "FAIL", label, n, ": " if n == 1 else "s:",
                1 / part if part > 0 else float("inf")))
            sys_part = statistics.median(1e6 * r["server_sys"] / nkeys
                                         for r in results[(label, n)])
            if part > 0.2 and sys_part > 0.2 * summary[(native, n)][1]:
                print("         (its system time alone, %.1f us/lookup, exceeds 1/5 of "
                      "mariadbd's total, %.1f us: the per-request socket round trip and "
                      "sleep/wake-up, not the lookup, decide this one)" % (
                          sys_part, 0.2 * summary[(native, n)][1]))
        if 1 in clients:
            rate, _ = summary[(label, 1)]
            nrate, _ = summary[(native, 1)]
            print("  %-6s %-19s 1 client:  rate >= native      x%.2f" % (
                "PASS" if rate >= nrate else "FAIL", label, rate / nrate))
    wrong = sum(r["wrong"] for runs in results.values() for r in runs)
    print("  %-6s answers as expected for every contender and run (wrong: %d)" % (
        "PASS" if wrong == 0 else "FAIL", wrong))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
