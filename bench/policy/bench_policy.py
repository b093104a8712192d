#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench_policy - vhostmail-policyd vs postgrey and postfwd, one request mix, one lean client.

Python 3 standard library only. Normally started by bench/policy/run.sh (which installs
postgrey/postfwd and builds policyd and the admin tool in release mode first); not part of the
test suite.

What it does, all in private temporary directories (no system service is touched):
  1. compiles policy_client.cc (g++ -O2, under flock /tmp/vhm-build.lock): K persistent
     connections, one request in flight per connection (like smtpd), one epoll thread, requests
     read from a pre-generated file, so the client costs little CPU and nothing is generated
     while the clock runs;
  2. generates a seeded request mix (Postfix 3.7's 29 attributes, docs/protocols.md 4.2):
       - "known" correspondences: inbound (port 25, no SASL: a client MTA, an outside sender,
         1-3 hosted recipients) and submission (SASL login = the sender, recipients outside or
         hosted); a few submission correspondences use a sender their login does not own
         ("sub-spoof") and a few inbound ones claim a hosted domain as sender ("in-hosted");
       - transactions: RCPT per recipient, then END-OF-MESSAGE (recipient only when there is
         exactly one, recipient_count, the real size); spoofing transactions stop after RCPT
         (policyd refuses them there). Known correspondences are drawn with a mild skew;
       - --new-fraction of the transactions are new triplets, a sender never seen before
         from a never seen /24 ("in-new") or from a known client ("in-newsender"; policyd and
         postgrey may have auto-whitelisted that client): RCPT only (greylisted, so Postfix
         would not get to DATA). Every measured run has its own new triplets, so they are
         first attempts in every run;
     one request file per measured run, identical for all contenders;
  3. starts a private mariadbd (tests/integration/vhm_mariadb.py), `vhostmail db migrate`,
     creates --domains domains and --mailboxes mailboxes (one with the admin tool, to get a
     real password hash; the rest by multi-row INSERT with that hash), then policyd with all
     checks on (sender_login hosted_sender greylist rate_limit recipient, rate limits set high
     so that they are counted but not hit), greylist delay 1 s;
     postgrey (Debian defaults: whitelists, auto-whitelisting, /24 triplets; own --dbdir,
     --delay=1, in the foreground as root); postfwd (postfwd1, one process, one rate rule,
     --postfwd-rule), all on 127.0.0.1 (or unix sockets with --transport unix);
  4. seeds greylisting state: every known correspondence's requests twice, 2.5 s apart (more
     than the 1 s delay), to every contender (postfwd's rate counters see the same history);
  5. under flock(/tmp/vhm-build.lock), so no build or test suite competes for the 2 cores:
     a warm-up run, the idle CPU of each server, then each contender at each --connections
     count, --repeat times, interleaved round-robin, the same request file per run;
  6. prints per contender and connection count: requests/s (median, min..max), p50/p99/max
     latency (median over runs), server CPU per request (utime+stime of the server process and
     its children from /proc, background work included), mariadbd's CPU per request (policyd
     keeps its state there; shown for all as a cross-check), the client's CPU per request, the
     reply verbs; then the answers per request kind (and checks of the obvious ones) and the
     targets: policyd >= 10x postgrey's requests/s at 8 connections, policyd p99 < 5 ms at 50.
     Exit status 0 whatever the results (a report); 1 only when the bench itself failed.
policyd is optional: without its binary (or with --only) the others are measured alone.
"""

import argparse
import fcntl
import os
import re
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench", "lookup"))
sys.dont_write_bytecode = True  # no __pycache__ left in bench/lookup

import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
# bench/lookup's name lists and process helpers, the same for this bench
from bench_lookup import (CLK_TCK, FIRST, LAST, LOCK_FILE, TLDS, WORDS, _bisect,  # noqa: E402
                          _term_with_parent, free_port, wait_quiet, which)

GREYLIST_DELAY = 1      # seconds, for policyd and postgrey
SEED_PAUSE = 2.5        # between the two seeding passes
CONTENDERS = ("policyd", "postgrey", "postfwd")
POLICYD_CHECKS = "sender_login hosted_sender greylist rate_limit recipient"
HIGH_LIMITS = "1000000 messages/1h, 10000000 recipients/1d"
ROLES = ("info", "sales", "support", "office", "billing", "news", "noreply", "team", "hello")

# Request kinds (column "kind" of the answer table), in display order.
KINDS = ("in RCPT", "in EOM", "in-new RCPT", "in-newsender RCPT", "in-hosted RCPT", "sub RCPT",
         "sub EOM", "sub-spoof RCPT")


# ---------------------------------------------------------------------------------------------
# the request mix


class Correspondence:
    """One known sender -> recipients relation, always from the same client."""
    __slots__ = ("kind", "client", "client_name", "helo", "sender", "login", "recipients")

    def __init__(self, kind, client, client_name, helo, sender, login, recipients):
        self.kind, self.client, self.client_name, self.helo = kind, client, client_name, helo
        self.sender, self.login, self.recipients = sender, login, recipients


class Workload:
    def __init__(self, args):
        self.rng = rng = random.Random(args.seed)
        self.args = args
        # hosted domains and mailboxes (no '-' in hosted names, always one in outside names)
        self.domains = ["%s%d.%s" % (WORDS[i % len(WORDS)], i, TLDS[i % len(TLDS)])
                        for i in range(args.domains)]
        self.mailboxes = []  # (domain index, local part)
        per = max(1, args.mailboxes // max(1, args.domains))
        for d in range(args.domains):
            n = per if d < args.domains - 1 else args.mailboxes - per * (args.domains - 1)
            for k in range(max(0, n)):
                local = "%s.%s%d" % (FIRST[k % len(FIRST)], LAST[(k // len(FIRST)) % len(LAST)],
                                     k // (len(FIRST) * len(LAST)))
                self.mailboxes.append((d, local))
        self.addrs = ["%s@%s" % (l, self.domains[d]) for d, l in self.mailboxes]

        # outside MTAs: a /24 each, a name (or "unknown"), several senders each
        n_in = args.known_inbound
        mtas = []
        for i in range(max(1, n_in // 4)):
            ip = self._outside_ip(rng)
            dom = "%s-%d.%s" % (LAST[i % len(LAST)], i, TLDS[(i * 7) % len(TLDS)])
            name = "mail.%s" % dom if rng.random() < 0.8 else "unknown"
            mtas.append((ip, name, "mail.%s" % dom, dom))
        self.mtas = mtas
        self.known = []
        for i in range(n_in):
            ip, name, helo, dom = mtas[rng.randrange(len(mtas))]
            if rng.random() < args.hosted_sender_fraction:
                kind, sender = "in-hosted", rng.choice(self.addrs)
            else:
                kind = "in"
                sender = "%s%d@%s" % (rng.choice(FIRST + list(ROLES)), i, dom)
            nrcpt = rng.choices((1, 2, 3), weights=(70, 20, 10))[0]
            rcpts = rng.sample(self.addrs, min(nrcpt, len(self.addrs)))
            self.known.append(Correspondence(kind, ip, name, helo, sender, "", rcpts))
        for i in range(args.known_submission):
            login = rng.choice(self.addrs)
            ip = "100.%d.%d.%d" % (64 + rng.randrange(64), rng.randrange(256),
                                   1 + rng.randrange(254))
            sender = login
            kind = "sub"
            if rng.random() < args.spoof_fraction:
                kind = "sub-spoof"
                while sender == login:
                    sender = rng.choice(self.addrs)
            nrcpt = rng.choices((1, 2, 3), weights=(75, 15, 10))[0]
            rcpts = []
            for _ in range(nrcpt):
                if rng.random() < 0.3:
                    rcpts.append(rng.choice(self.addrs))
                else:
                    rcpts.append("%s.%s@%s-%d.%s" % (rng.choice(FIRST), rng.choice(LAST),
                                                     rng.choice(LAST), rng.randrange(5000),
                                                     rng.choice(TLDS)))
            self.known.append(Correspondence(kind, ip, "unknown", "[%s]" % ip, sender, login,
                                             sorted(set(rcpts))))
        # mild skew: some correspondences are much busier than others
        order = list(range(len(self.known)))
        rng.shuffle(order)
        self.weights = [0.0] * len(self.known)
        for rank, idx in enumerate(order):
            self.weights[idx] = 1.0 / (rank + 1) ** 0.6
        self.cum = []
        total = 0.0
        for w in self.weights:
            total += w
            self.cum.append(total)
        self.txn_counter = 0

    @staticmethod
    def _outside_ip(rng):
        while True:
            a = rng.randrange(11, 224)
            if a not in (100, 127, 169, 172, 192, 198, 203):
                return "%d.%d.%d.%d" % (a, rng.randrange(256), rng.randrange(256),
                                        1 + rng.randrange(254))

    # -- request text --------------------------------------------------------------------------

    def _request(self, rng, state, c_ip, c_name, helo, sender, recipient, rcpt_count, queue_id,
                 instance, size, login, port):
        tls = login or rng.random() < 0.7
        return ("request=smtpd_access_policy\n"
                "protocol_state=%s\n"
                "protocol_name=ESMTP\n"
                "client_address=%s\n"
                "client_name=%s\n"
                "client_port=%d\n"
                "reverse_client_name=%s\n"
                "server_address=127.0.0.1\n"
                "server_port=%d\n"
                "helo_name=%s\n"
                "sender=%s\n"
                "recipient=%s\n"
                "recipient_count=%d\n"
                "queue_id=%s\n"
                "instance=%s\n"
                "size=%d\n"
                "etrn_domain=\n"
                "stress=\n"
                "sasl_method=%s\n"
                "sasl_username=%s\n"
                "sasl_sender=\n"
                "ccert_subject=\n"
                "ccert_issuer=\n"
                "ccert_fingerprint=\n"
                "ccert_pubkey_fingerprint=\n"
                "encryption_protocol=%s\n"
                "encryption_cipher=%s\n"
                "encryption_keysize=%s\n"
                "policy_context=\n"
                "\n") % (state, c_ip, c_name, 1024 + rng.randrange(64000), c_name, port, helo,
                         sender, recipient, rcpt_count, queue_id, instance, size,
                         "PLAIN" if login else "", login,
                         "TLSv1.3" if tls else "", "TLS_AES_256_GCM_SHA384" if tls else "",
                         "256" if tls else "0")

    def _transaction(self, rng, out, kinds, c_ip, c_name, helo, sender, login, rcpts, kind,
                     with_eom):
        """Appends the requests of one mail transaction (RCPT per recipient, maybe EOM)."""
        self.txn_counter += 1
        instance = "%x.%08x.%05x.0" % (0x1000 + rng.randrange(0xe000), 0x66000000 +
                                       self.txn_counter, rng.randrange(0x100000))
        qid = "%010X" % rng.randrange(1 << 40)
        size = int(rng.lognormvariate(9.5, 1.2)) + 500
        announced = size if rng.random() < 0.6 else 0
        port = 587 if login else 25
        for i, r in enumerate(rcpts):
            out.append(self._request(rng, "RCPT", c_ip, c_name, helo, sender, r, 0,
                                     qid if i else "", instance, announced, login, port))
            kinds.append(kind + " RCPT")
        if with_eom:
            out.append(self._request(rng, "END-OF-MESSAGE", c_ip, c_name, helo, sender,
                                     rcpts[0] if len(rcpts) == 1 else "", len(rcpts), qid,
                                     instance, size, login, port))
            kinds.append(kind + " EOM")

    def seed_requests(self):
        """Every known correspondence's requests (all its recipients, EOM), for the seeding."""
        rng = random.Random(self.args.seed + 1)
        out, kinds = [], []
        for c in self.known:
            spoof = c.kind in ("sub-spoof", "in-hosted")
            self._transaction(rng, out, kinds, c.client, c.client_name, c.helo, c.sender,
                              c.login, c.recipients, c.kind, not spoof)
            if not spoof:
                for r in c.recipients if len(c.recipients) > 1 else ():
                    self._transaction(rng, out, kinds, c.client, c.client_name, c.helo,
                                      c.sender, c.login, [r], c.kind, True)
        return out, kinds

    def run_requests(self, run_id, n):
        """About n requests (whole transactions) for measured run run_id; its new triplets are
        its own (senders and /24s no other run uses)."""
        rng = random.Random(self.args.seed * 1000003 + run_id)
        out, kinds = [], []
        new_nets = 0
        while len(out) < n:
            if rng.random() < self.args.new_fraction:
                kind = "in-new"
                if rng.random() < 0.5 or new_nets >= 250:
                    kind = "in-newsender"  # a known client (it may be auto-whitelisted)
                    ip, name, helo, dom = self.mtas[rng.randrange(len(self.mtas))]
                else:  # a /24 nobody has seen: 10.<run>.<k>.x is never used by known MTAs
                    new_nets += 1
                    ip = "10.%d.%d.%d" % (run_id % 256, new_nets, 1 + rng.randrange(254))
                    dom = "new%d-%d.net" % (run_id, new_nets)
                    name, helo = "mail." + dom, "mail." + dom
                sender = "first%d.r%d@%s" % (len(out), run_id, dom)
                nrcpt = rng.choices((1, 2), weights=(85, 15))[0]
                rcpts = rng.sample(self.addrs, min(nrcpt, len(self.addrs)))
                self._transaction(rng, out, kinds, ip, name, helo, sender, "", rcpts, kind,
                                  False)
                continue
            c = self.known[min(_bisect(self.cum, rng.random() * self.cum[-1]),
                               len(self.known) - 1)]
            if len(c.recipients) > 1 and rng.random() < 0.7:
                rcpts = [rng.choice(c.recipients)]
            else:
                rcpts = c.recipients
            spoof = c.kind in ("sub-spoof", "in-hosted")
            self._transaction(rng, out, kinds, c.client, c.client_name, c.helo, c.sender,
                              c.login, rcpts, c.kind, not spoof)
        return out, kinds

    def write_sql(self, path, password_hash):
        """domains + mailboxes (all with the same password hash), multi-row INSERTs."""
        def q(s):
            return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"
        with open(path, "w") as out:
            out.write("SET autocommit = 0;\n")
            for start in range(0, len(self.domains), 500):
                out.write("INSERT INTO domains (name) VALUES\n" + ",\n".join(
                    "(%s)" % q(d) for d in self.domains[start:start + 500]) + ";\n")
            out.write("COMMIT;\n")
            # domain ids by name, resolved in SQL (the table may hold other rows already)
            for start in range(0, len(self.mailboxes), 1000):
                out.write("INSERT INTO addresses (domain_id, local_part, mailbox, password) "
                          "SELECT d.id, v.l, TRUE, %s FROM domains d JOIN (\n" % q(password_hash))
                out.write(" UNION ALL\n".join(
                    "SELECT %s AS n, %s AS l" % (q(self.domains[d]), q(local))
                    for d, local in self.mailboxes[start:start + 1000]))
                out.write("\n) v ON v.n = d.name;\n")
            out.write("COMMIT;\n")


def write_requests(path, reqs, kinds):
    with open(path, "w") as f:
        f.write("".join(reqs))
    with open(path + ".kinds", "w") as f:
        f.write("".join(k + "\n" for k in kinds))


# ---------------------------------------------------------------------------------------------
# processes


def _proc_stat(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()


def tree_cpu(pid):
    """(cpu, sys) seconds of pid and all its descendants, reaped children included
    (utime+stime+cutime+cstime from /proc/PID/stat)."""
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(_proc_stat(int(entry))[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    total = sys_ = 0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            f = _proc_stat(p)
        except OSError:
            continue
        # fields[0] is field 3 (state): utime 14, stime 15, cutime 16, cstime 17
        total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
        sys_ += int(f[12]) + int(f[14])
        todo.extend(children.get(p, ()))
    return total / CLK_TCK, sys_ / CLK_TCK


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def guard(pid, tmp, group=False):
    """A watchdog shell that SIGTERMs pid (then SIGKILL) and removes tmp should this script die
    without cleaning up (even by SIGKILL: it gets SIGTERM by parent-death signal). Servers that
    drop privileges or daemonize lose their own parent-death signal, so this covers them.
    group: pid leads its own process group (a daemon after setsid); signal the whole group.
    pid None: only remove tmp. Stopped with SIGKILL (no trap) when all goes well."""
    if pid is None:
        script = 'trap \'rm -rf "$1"; exit 0\' TERM; while :; do sleep 1; done'
        pid = 0
    else:
        who = "-$0" if group else "$0"  # dash's kill takes no "--"
        script = ('trap \'kill -TERM %s; i=0; while kill -0 %s && [ $i -lt 15 ]; do sleep 1; '
                  'i=$((i+1)); done; kill -0 %s && kill -KILL %s; rm -rf "$1"; exit 0\' TERM; '
                  'while kill -0 $0; do sleep 1; done' % (who, who, who, who))
    return subprocess.Popen(
        ["/bin/sh", "-c", script, str(pid), tmp],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        preexec_fn=_term_with_parent)


def wait_listening(target, is_alive, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive():
            return False
        try:
            if target.startswith("unix:"):
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                    s.connect(target[5:])
            else:
                host, port = target[5:].rsplit(":", 1)
                socket.create_connection((host, int(port)), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


class Server:
    """One contender: start(), pid, target, stop(), log_text()."""
    label = ""

    def __init__(self, tmp):
        self.tmp = tmp
        self.pid = None
        self.target = None
        self.log = None
        self.watchdog = None

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except (OSError, TypeError):
            return ""

    def _guard(self, group=False):
        self.watchdog = guard(self.pid, self.tmp, group)

    def _stop_watchdog(self):
        if self.watchdog is not None:
            self.watchdog.kill()  # SIGKILL: no trap, nothing left to stop
            self.watchdog.wait()
            self.watchdog = None

    def _stop_group(self):
        """SIGTERM the process group of the daemon we started (it called setsid, so its pid is
        the group id; postfwd2's children outlive a TERM to the master alone), wait, SIGKILL."""
        if self.pid is None:
            return

        def members():
            out = []
            for entry in os.listdir("/proc"):
                if entry.isdigit():
                    try:
                        f = _proc_stat(int(entry))
                    except (OSError, IndexError):
                        continue
                    if int(f[2]) == self.pid and f[0] != "Z":
                        out.append(int(entry))
            return out
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not members():
                break
            try:
                os.killpg(self.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + 15
            while members() and time.monotonic() < deadline:
                time.sleep(0.1)


class Policyd(Server):
    label = "policyd"

    def __init__(self, binary, tmp, db, transport, extra_settings):
        super().__init__(tmp)
        if transport == "unix":
            self.target = "unix:" + os.path.join(tmp, "policyd.sock")
        else:
            self.target = "inet:127.0.0.1:%d" % free_port()
        settings = [
            ("policyd_mx_listen", self.target),
            ("policyd_mx_checks", POLICYD_CHECKS),
            ("policyd_login_rate_limits", HIGH_LIMITS),
            ("policyd_client_rate_limits", HIGH_LIMITS),
            ("policyd_greylist_delay", "%ds" % GREYLIST_DELAY),
            ("policyd_max_clients", "200"),
        ]
        for item in extra_settings:
            name, _, value = item.partition("=")
            settings = [(n, v) for n, v in settings if n != name.strip()]
            settings.append((name.strip(), value.strip()))
        self.config = vhm_daemon.base_config(db, tmp) + "".join(
            "%s = %s\n" % nv for nv in settings)
        self.d = vhm_daemon.daemon(binary, self.config, tmp, name="policyd")
        self.log = self.d.log_file

    def start(self):
        self.d.preexec = _term_with_parent
        self.d.start(timeout=60)
        self.pid = self.d.proc.pid
        self._guard()
        if not wait_listening(self.target, self.d.alive, timeout=20):
            raise RuntimeError("policyd does not accept connections on %s:\n%s" % (
                self.target, self.log_text()))

    def stop(self):
        if self.d.alive():
            try:
                self.d.terminate(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        self.d.kill()
        self._stop_watchdog()


class Postgrey(Server):
    label = "postgrey"

    def __init__(self, binary, tmp, transport, extra_args):
        super().__init__(tmp)
        self.dbdir = os.path.join(tmp, "postgrey")
        os.makedirs(self.dbdir)
        if transport == "unix":
            sock = os.path.join(tmp, "postgrey.sock")
            self.target = "unix:" + sock
            listen = ["--unix=" + sock]
        else:
            port = free_port()
            self.target = "inet:127.0.0.1:%d" % port
            listen = ["--inet=127.0.0.1:%d" % port]
        # Debian's defaults otherwise: /etc/postgrey whitelists, auto-whitelisting after 5,
        # triplets by /24. Foreground (it logs each decision to stderr), as root.
        self.args = [binary] + listen + [
            "--dbdir=" + self.dbdir, "--delay=%d" % GREYLIST_DELAY, "--user=root",
            "--group=root", "--hostname=bench.invalid"] + list(extra_args)
        self.log = os.path.join(tmp, "postgrey.log")
        self.proc = None

    def start(self):
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=err,
                                         stderr=err, preexec_fn=_term_with_parent)
        self.pid = self.proc.pid
        self._guard()
        if not wait_listening(self.target, lambda: self.proc.poll() is None):
            raise RuntimeError("postgrey did not start:\n" + self.log_text())

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._stop_watchdog()


class Postfwd(Server):
    label = "postfwd"
    # what Debian's postfwd.service adds ($ARGS in /etc/default/postfwd)
    DEBIAN_ARGS = ["--summary=600", "--cache=600", "--cache-rdomain-only", "--cache-no-size"]

    def __init__(self, binary, tmp, transport, rule, extra_args):
        super().__init__(tmp)
        # Debian's /usr/sbin/postfwd is an alternative: postfwd2 (default) or postfwd1.
        self.variant = "postfwd2" if "postfwd2" in os.path.basename(
            os.path.realpath(binary)) else "postfwd1"
        self.rules = os.path.join(tmp, "postfwd.cf")
        with open(self.rules, "w") as f:
            f.write("# bench/policy: one rate rule\nid=R1; action=rate(%s)\n" % rule)
        self.pidfile = os.path.join(tmp, "postfwd.pid")
        if transport == "unix":
            sock = os.path.join(tmp, "postfwd.sock")
            self.target = "unix:" + sock
            listen = ["--proto", "unix", "-p", sock]
        else:
            port = free_port()
            self.target = "inet:127.0.0.1:%d" % port
            listen = ["-i", "127.0.0.1", "-p", str(port)]
        # As Debian's postfwd.service runs it (--daemon: it forks, calls setsid and writes
        # --pidfile), as root, no DNS. postfwd1 is one Net::Server::Multiplex process; postfwd2
        # a master, a cache daemon (which keeps the rate counters) and pre-forked policy
        # children; its cache socket is put in our directory, not in /var/tmp.
        self.args = [binary, "--daemon", "-f", self.rules] + listen + [
            "-u", "root", "-g", "root", "--pidfile", self.pidfile, "-n"] + self.DEBIAN_ARGS
        if self.variant == "postfwd2":
            self.args += ["--cache_proto", "unix", "--cache_port",
                          os.path.join(tmp, "postfwd-cache.sock")]
        self.args += list(extra_args)
        self.log = os.path.join(tmp, "postfwd.log")

    def start(self):
        with open(self.log, "w") as err:
            r = subprocess.run(self.args, stdin=subprocess.DEVNULL, stdout=err, stderr=err,
                               timeout=60, check=False)
        if r.returncode != 0:
            raise RuntimeError("postfwd exited with %d:\n%s" % (r.returncode, self.log_text()))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with open(self.pidfile) as f:
                    self.pid = int(f.read().strip())
                break
            except (OSError, ValueError):
                time.sleep(0.05)
        if self.pid is None:
            raise RuntimeError("postfwd wrote no pid file:\n" + self.log_text())
        self._guard(group=True)
        if not wait_listening(self.target, lambda: alive(self.pid)):
            raise RuntimeError("postfwd did not start:\n" + self.log_text())

    def stop(self):
        self._stop_group()
        self._stop_watchdog()


# ---------------------------------------------------------------------------------------------
# measuring

RUNNING = []  # client processes of the current phase, killed on the way out


def run_client(client, server, db_pid, path, conns, replies, timeout):
    """Runs policy_client against server with the request file; returns a result dict."""
    cpu0 = tree_cpu(server.pid)
    db0 = tree_cpu(db_pid) if db_pid else (0.0, 0.0)
    p = subprocess.Popen([client, "--target", server.target, "--input", path, "--connections",
                          str(conns), "--replies", replies, "--timeout", str(timeout)],
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, preexec_fn=_term_with_parent)
    RUNNING.append(p)
    out, err = p.communicate()
    RUNNING.remove(p)
    cpu1 = tree_cpu(server.pid)
    db1 = tree_cpu(db_pid) if db_pid else (0.0, 0.0)
    if p.returncode != 0:
        raise RuntimeError("policy_client against %s failed (%d): %s\n%s" % (
            server.label, p.returncode, err.strip(), server.log_text()[-3000:]))
    r = {"actions": {}, "examples": {}, "stderr": err.strip()}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.startswith("action."):
            r["actions"][key[7:]] = int(value)
        elif key.startswith("example."):
            r["examples"][key[8:]] = value
        elif key == "target":
            r[key] = value
        else:
            r[key] = float(value)
    n = r["completed"] or 1
    r["server_us"] = 1e6 * (cpu1[0] - cpu0[0]) / n
    r["server_sys_us"] = 1e6 * (cpu1[1] - cpu0[1]) / n
    r["db_us"] = 1e6 * (db1[0] - db0[0]) / n
    r["client_us"] = 1e6 * r["client_cpu_seconds"] / n
    r["replies"] = replies
    return r


def answers_by_kind(kinds_path, replies_path, latencies=None):
    """{kind: {verb: count}} for one run; appends latencies (ms) to latencies[kind]."""
    table = {}
    with open(kinds_path) as fk, open(replies_path) as fr:
        for kind, reply in zip(fk, fr):
            kind = kind.strip()
            verb, _, lat = reply.rstrip("\n").partition("\t")
            row = table.setdefault(kind, {})
            row[verb] = row.get(verb, 0) + 1
            if latencies is not None and verb != "-":
                latencies.setdefault(kind, []).append(float(lat) / 1e3)
    return table


def pct(values, q):
    """Nearest-rank percentile of an unsorted list."""
    v = sorted(values)
    return v[max(0, min(len(v) - 1, int(-(-q * len(v) // 1)) - 1))] if v else float("nan")


# What each contender must answer for some kinds ("not" = none of these verbs may appear).
EXPECT = {
    "policyd": {"in-new RCPT": ("only", {"DEFER_IF_PERMIT", "DEFER", "450"}),
                "sub-spoof RCPT": ("only", {"REJECT", "553", "554", "550"}),
                "in RCPT": ("not", {"REJECT", "DEFER", "DEFER_IF_PERMIT", "-"}),
                "in EOM": ("not", {"REJECT", "DEFER", "DEFER_IF_PERMIT", "-"}),
                "sub RCPT": ("not", {"REJECT", "DEFER", "DEFER_IF_PERMIT", "-"}),
                "sub EOM": ("not", {"REJECT", "DEFER", "DEFER_IF_PERMIT", "-"})},
    "postgrey": {"in-new RCPT": ("only", {"DEFER_IF_PERMIT"}),
                 "in-newsender RCPT": ("only", {"DEFER_IF_PERMIT"}),
                 **{k: ("only", {"DUNNO"}) for k in KINDS if not k.startswith("in-new")}},
    "postfwd": {k: ("only", {"DUNNO", "450"}) for k in KINDS},
}


def check_answers(label, table):
    problems = []
    for kind, (how, verbs) in EXPECT.get(label, {}).items():
        row = table.get(kind, {})
        bad = {v: n for v, n in row.items() if (v not in verbs if how == "only" else v in verbs)}
        if bad:
            problems.append("%s: %s" % (kind, ", ".join("%s %d" % vn for vn in
                                                          sorted(bad.items()))))
    return problems


def compile_client(tmp, no_lock):
    out = os.path.join(tmp, "policy_client")
    cmd = ["g++", "-O2", "-std=c++17", "-Wall", "-o", out, os.path.join(HERE, "policy_client.cc")]
    if not no_lock:
        cmd = ["flock", LOCK_FILE] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, check=False,
                       preexec_fn=_term_with_parent)
    if r.returncode != 0:
        raise RuntimeError("compiling policy_client failed:\n" + r.stderr)
    return out


def load_data(db, admin, tmp, work):
    """Schema by `vhostmail db migrate`; one mailbox through the admin tool (for a real password
    hash), the rest by SQL; returns a summary line."""
    cf = os.path.join(tmp, "admin.cf")
    with open(cf, "w") as f:
        f.write(vhm_daemon.base_config(db, tmp))

    def tool(*args, stdin=None):
        r = subprocess.run([admin, "-c", cf] + list(args), input=stdin, capture_output=True,
                           text=True, timeout=120, start_new_session=True, check=False)
        if r.returncode != 0:
            raise RuntimeError("vhostmail %s failed (%d): %s %s" % (
                " ".join(args), r.returncode, r.stdout.strip(), r.stderr.strip()))
        return r.stdout
    r = vhm_daemon.migrate(admin, db, ROOT)
    if r.returncode != 0:
        raise RuntimeError("vhostmail db migrate failed (%d): %s %s" % (
            r.returncode, r.stdout.strip(), r.stderr.strip()))
    migrated = r.stdout.strip().splitlines()
    tool("domain", "add", "bench-probe.invalid")
    tool("address", "add", "probe@bench-probe.invalid", "mailbox=yes")
    tool("address", "passwd", "probe@bench-probe.invalid", "--stdin", stdin="bench-pw\n")
    hashed = db.sql("SELECT a.password FROM addresses a JOIN domains d ON d.id = a.domain_id "
                    "WHERE d.name = 'bench-probe.invalid' AND a.local_part = 'probe'").strip()
    if not hashed:
        raise RuntimeError("the admin tool set no password hash")
    sql_path = os.path.join(tmp, "data.sql")
    work.write_sql(sql_path, hashed)
    db.load_file(sql_path)
    tables = db.sql("SHOW TABLES").split()
    db.sql("ANALYZE TABLE domains, addresses;")
    counts = db.sql("SELECT (SELECT COUNT(*) FROM domains), (SELECT COUNT(*) FROM addresses)"
                    ).split()
    return ("%s; %s domains, %s addresses (hash %s...); tables: %s" % (
        migrated[-1] if migrated else "migrated", counts[0], counts[1], hashed[:16],
        " ".join(tables)))


# ---------------------------------------------------------------------------------------------
# main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=40000, help="requests per measured run")
    ap.add_argument("--connections", default="8,50", help="comma-separated connection counts")
    ap.add_argument("--repeat", type=int, default=3, help="runs per phase (median reported)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--domains", type=int, default=200)
    ap.add_argument("--mailboxes", type=int, default=20000)
    ap.add_argument("--known-inbound", type=int, default=6000,
                    help="known inbound correspondences (client, sender, recipients)")
    ap.add_argument("--known-submission", type=int, default=1500,
                    help="known submission correspondences (login, recipients)")
    ap.add_argument("--new-fraction", type=float, default=0.05,
                    help="share of transactions with a new triplet (first attempt)")
    ap.add_argument("--spoof-fraction", type=float, default=0.03,
                    help="share of submission correspondences with a foreign sender")
    ap.add_argument("--hosted-sender-fraction", type=float, default=0.01,
                    help="share of inbound correspondences claiming a hosted sender")
    ap.add_argument("--only", default=",".join(CONTENDERS),
                    help="contenders to measure (policyd,postgrey,postfwd)")
    ap.add_argument("--transport", choices=("inet", "unix"), default="inet")
    ap.add_argument("--policyd", default=os.path.join(ROOT, "build", "release", "daemons",
                                                      "policyd", "vhostmail-policyd"))
    ap.add_argument("--admin", default=os.path.join(ROOT, "build", "release", "daemons",
                                                    "admin", "vhostmail"))
    ap.add_argument("--policyd-set", action="append", default=[], metavar="NAME=VALUE",
                    help="extra or overriding policyd config parameter (repeatable)")
    ap.add_argument("--postfwd-rule", default="sender/100/3600/450 4.7.1 too many",
                    help="argument of postfwd's rate() action")
    ap.add_argument("--postfwd", default="postfwd",
                    help="postfwd program: postfwd (Debian's alternative, postfwd2 by default), "
                         "postfwd1 or postfwd2")
    ap.add_argument("--postgrey-arg", action="append", default=[], metavar="ARG",
                    help="extra postgrey argument (repeatable)")
    ap.add_argument("--mariadb-arg", action="append", default=[], metavar="ARG",
                    help="extra mariadbd argument (repeatable)")
    ap.add_argument("--buffer-pool", default="256M", help="innodb_buffer_pool_size")
    ap.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a reply")
    ap.add_argument("--no-lock", action="store_true", help="do not take " + LOCK_FILE)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    conn_counts = [int(c) for c in args.connections.split(",") if c.strip()]
    only = [c.strip() for c in args.only.split(",") if c.strip()]
    unknown = [c for c in only if c not in CONTENDERS]
    if unknown or not only or not conn_counts or args.requests < 1 or args.repeat < 1:
        ap.error("bad --only/--connections/--requests/--repeat")

    # Our own handlers (set before vhm_mariadb installs its kill-and-exit ones), so that the
    # finally blocks below run: clients, servers, mariadbd and the temp dirs are cleaned up.
    def on_signal(signum, _frame):
        print("\nbench_policy: signal %d, cleaning up" % signum, file=sys.stderr)
        raise SystemExit(128 + signum)

    def on_interrupt(_signum, _frame):
        raise KeyboardInterrupt
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, on_interrupt)  # not when ignored (background job)

    if os.geteuid() != 0:
        print("bench_policy: run as root (policyd drops privileges to nobody; postgrey and "
              "postfwd run as root; /proc stat of every server is read)", file=sys.stderr)
        return 1
    notes = []
    if "policyd" in only and not os.path.exists(args.policyd):
        notes.append("policyd not measured: %s not found (not built yet?)" % args.policyd)
        only.remove("policyd")
    if "policyd" in only and not os.path.exists(args.admin):
        print("bench_policy: the admin tool %s is missing (it creates the schema)" % args.admin,
              file=sys.stderr)
        return 1
    progs = {"postgrey": which("postgrey"), "postfwd": which(args.postfwd)}
    for name in ("postgrey", "postfwd"):
        if name in only and not progs[name]:
            notes.append("%s not measured: not installed (run.sh installs it)" % name)
            only.remove(name)
    reason = vhm_mariadb.unavailable_reason()
    if "policyd" in only and reason:
        print("bench_policy: MariaDB %s" % reason, file=sys.stderr)
        return 1
    if not only:
        print("bench_policy: nothing to measure:\n  " + "\n  ".join(notes), file=sys.stderr)
        return 1

    t_start = time.monotonic()
    try:
        rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    print("bench_policy: source tree %s; contenders: %s" % (rev or "?", ", ".join(only)))
    if "policyd" in only:
        print("policyd binary: %s (built %s)" % (args.policyd, time.strftime(
            "%Y-%m-%d %H:%M:%S", time.localtime(os.stat(args.policyd).st_mtime))))
    for note in notes:
        print("NOTE: " + note)

    tmp = tempfile.mkdtemp(prefix="vhm-bench-policy-", dir="/tmp")
    os.chmod(tmp, 0o755)  # policyd runs as nobody
    servers = []
    lock = None
    tmp_guard = guard(None, tmp)  # removes tmp should we be SIGKILLed
    try:
        client = compile_client(tmp, args.no_lock)

        # -- request files ----------------------------------------------------------------
        t0 = time.monotonic()
        work = Workload(args)
        seed_reqs, seed_kinds = work.seed_requests()
        seed_path = os.path.join(tmp, "seed.req")
        write_requests(seed_path, seed_reqs, seed_kinds)
        runs = []  # (rep, conns, path)
        run_id = 1
        warm_reqs, warm_kinds = work.run_requests(run_id, min(3000, args.requests))
        warm_path = os.path.join(tmp, "warm.req")
        write_requests(warm_path, warm_reqs, warm_kinds)
        mix = {}
        for rep in range(args.repeat):
            for n in conn_counts:
                run_id += 1
                reqs, kinds = work.run_requests(run_id, args.requests)
                path = os.path.join(tmp, "run%d.req" % run_id)
                write_requests(path, reqs, kinds)
                runs.append((rep, n, path, len(reqs)))
                for k in kinds:
                    mix[k] = mix.get(k, 0) + 1
        total = sum(mix.values())
        print("mix: %d domains, %d mailboxes; %d known correspondences (%d inbound, %d "
              "submission); seeding %d requests x2; %d measured runs of ~%d requests "
              "(generated in %.1f s)" % (
                  len(work.domains), len(work.addrs), len(work.known), args.known_inbound,
                  args.known_submission, len(seed_reqs), len(runs), args.requests,
                  time.monotonic() - t0))
        print("     " + ", ".join("%s %.1f%%" % (k, 100.0 * mix.get(k, 0) / total)
                                  for k in KINDS if mix.get(k)))

        db_ctx = None
        db = None
        if "policyd" in only:
            db_ctx = vhm_mariadb.private_mariadb(
                extra_args=["--innodb-buffer-pool-size=" + args.buffer_pool] +
                args.mariadb_arg)
            db = db_ctx.__enter__()
        try:
            if db is not None:
                t0 = time.monotonic()
                summary = load_data(db, args.admin, tmp, work)
                print("database: %s (%.1f s)" % (summary, time.monotonic() - t0))
                if "greylist" not in summary.split("tables:")[-1].split():
                    print("NOTE: no table named greylist after the migration")
                wait_quiet(db.pid, "mariadbd")

            for name in only:
                if name == "policyd":
                    s = Policyd(args.policyd, tmp, db, args.transport, args.policyd_set)
                elif name == "postgrey":
                    s = Postgrey(progs["postgrey"], tmp, args.transport, args.postgrey_arg)
                else:
                    s = Postfwd(progs["postfwd"], tmp, args.transport, args.postfwd_rule, [])
                servers.append(s)
                s.start()
                print("%s: pid %d on %s%s" % (s.label, s.pid, s.target, " (%s)" % s.variant
                                              if name == "postfwd" else ""))
            db_pid = db.pid if db is not None else None
            outdir = os.path.join(tmp, "out")
            os.makedirs(outdir)

            # -- seeding: every known request twice, more than the greylist delay apart ------
            t0 = time.monotonic()
            seeded = {}
            pass1_end = {}
            for p in (1, 2):
                for s in servers:
                    if p == 2:  # more than the delay after this server's first pass
                        time.sleep(max(0.0, pass1_end[s.label] + SEED_PAUSE - time.monotonic()))
                    r = run_client(client, s, None, seed_path, 8,
                                   os.path.join(outdir, "seed%d.%s" % (p, s.label)),
                                   args.timeout)
                    seeded[(s.label, p)] = r
                    pass1_end[s.label] = time.monotonic()
            print("seeding (%.1f s): replies, pass 1 -> pass 2:" % (time.monotonic() - t0))
            for s in servers:
                print("  %-9s %s  ->  %s" % (s.label, fmt_verbs(seeded[(s.label, 1)]),
                                              fmt_verbs(seeded[(s.label, 2)])))

            # -- measuring ----------------------------------------------------------------
            if not args.no_lock:
                lock = open(LOCK_FILE, "a")
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    print("waiting for %s (a build or test run holds it) ..." % LOCK_FILE,
                          flush=True)
                    fcntl.flock(lock, fcntl.LOCK_EX)
            for s in servers:
                run_client(client, s, None, warm_path, 8, os.path.join(outdir, "warm." +
                                                                       s.label), args.timeout)
            if db is not None:
                wait_quiet(db.pid, "mariadbd", max_wait=20)
            pids = [(s.label, s.pid) for s in servers] + ([("mariadbd", db.pid)] if db else [])
            idle0 = (time.monotonic(), [tree_cpu(p)[0] for _, p in pids])
            time.sleep(3.0)
            idle1 = (time.monotonic(), [tree_cpu(p)[0] for _, p in pids])
            print("idle CPU (background work, included in the per-request figures): " +
                  ", ".join("%s %.1f ms/s" % (label, 1e3 * (c1 - c0) / (idle1[0] - idle0[0]))
                            for (label, _), c0, c1 in zip(pids, idle0[1], idle1[1])))

            results = {}  # (label, conns) -> [result]
            t_measure = time.monotonic()
            for rep, n, path, nreq in runs:
                for s in servers:
                    replies = os.path.join(outdir, "%s.%d.%d" % (s.label, rep, n))
                    r = run_client(client, s, db_pid, path, n, replies, args.timeout)
                    r["kinds"] = path + ".kinds"
                    results.setdefault((s.label, n), []).append(r)
                    print("  run %d/%d  %-9s %2d conns  %7.0f req/s  p50 %6.2f ms  p99 %6.2f ms"
                          "  server %6.1f us/req%s  %s" % (
                              rep + 1, args.repeat, s.label, n, r["requests_per_second"],
                              r["latency_us_p50"] / 1e3, r["latency_us_p99"] / 1e3,
                              r["server_us"], "  mariadbd %.1f" % r["db_us"]
                              if s.label == "policyd" else "", fmt_verbs(r)), flush=True)
            measure_time = time.monotonic() - t_measure
            if lock is not None:
                lock.close()
                lock = None

            report(args, servers, conn_counts, results, measure_time)
            for s in servers:
                log = s.log_text()
                bad = [line for line in log.splitlines()
                       if ": warning:" in line or ": error:" in line or ": fatal:" in line
                       or "ERROR" in line or "FATAL" in line]
                print("%s: log %d lines, %d warnings/errors%s" % (
                    s.label, len(log.splitlines()), len(bad),
                    "" if not bad else ":\n    " + "\n    ".join(bad[:8])))
        finally:
            for s in reversed(servers):
                s.stop()
                # policyd says on SIGTERM how many statements its requests cost (all phases,
                # seeding included).
                cost = re.search(r"served \d+ requests with \d+ database statements"
                                 r" \([0-9.]+ per request\)", s.log_text() or "")
                if cost:
                    print("%s: %s" % (s.label, cost.group(0)))
            servers = []
            if db_ctx is not None:
                db_ctx.__exit__(None, None, None)
        print("total bench time %.0f s" % (time.monotonic() - t_start))
        return 0
    finally:
        for p in list(RUNNING):
            try:
                p.kill()
            except OSError:
                pass
        for s in reversed(servers):
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001 - keep cleaning up
                print("bench_policy: stopping %s: %s" % (s.label, e), file=sys.stderr)
        if lock is not None:
            lock.close()
        tmp_guard.kill()  # SIGKILL: no trap
        tmp_guard.wait()
        if args.keep:
            print("kept", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def fmt_verbs(r):
    n = sum(r["actions"].values()) or 1
    items = sorted(r["actions"].items(), key=lambda kv: -kv[1])
    return " ".join("%s %.1f%%" % (v, 100.0 * c / n) for v, c in items)


def report(args, servers, conn_counts, results, measure_time):
    med = statistics.median
    print()
    print("Postfix policy delegation, %d requests per run, median of %d runs (%.0f s of "
          "measuring), transport %s" % (args.requests, args.repeat, measure_time,
                                        args.transport))
    print()
    head = "%-9s %5s %9s %15s %8s %8s %8s %11s %9s %11s %9s  %s" % (
        "contender", "conns", "req/s", "(min..max)", "p50 ms", "p99 ms", "max ms",
        "server us", "(of sys)", "mariadbd us", "client us", "replies")
    print(head)
    print("-" * len(head))
    summary = {}
    for n in conn_counts:
        for s in servers:
            rs = results[(s.label, n)]
            rates = [r["requests_per_second"] for r in rs]
            row = {"rate": med(rates), "p50": med(r["latency_us_p50"] for r in rs) / 1e3,
                   "p99": med(r["latency_us_p99"] for r in rs) / 1e3,
                   "max": max(r["latency_us_max"] for r in rs) / 1e3,
                   "srv": med(r["server_us"] for r in rs),
                   "sys": med(r["server_sys_us"] for r in rs),
                   "db": med(r["db_us"] for r in rs), "cli": med(r["client_us"] for r in rs)}
            summary[(s.label, n)] = row
            failed = sum(int(r["failed"]) for r in rs)
            reconnects = sum(int(r["reconnects"]) for r in rs)
            print("%-9s %5d %9.0f %15s %8.2f %8.2f %8.2f %11.1f %9.1f %11s %9.1f  %s%s" % (
                s.label, n, row["rate"], "(%.0f..%.0f)" % (min(rates), max(rates)), row["p50"],
                row["p99"], row["max"], row["srv"], row["sys"],
                "%.1f" % row["db"] if s.label == "policyd" else "(%.1f)" % row["db"],
                row["cli"], fmt_verbs(rs[-1]),
                "  FAILED %d, reconnects %d" % (failed, reconnects)
                if failed or reconnects else ""))
        print()
    print("server us = CPU of the server process per request; mariadbd us = mariadbd's CPU per "
          "request during the same runs (policyd's state lives there; in parentheses for the "
          "others: background noise only); client us = policy_client's own CPU.")
    print()

    print("answers per request kind (first run at %d connections):" % conn_counts[0])
    first = {s.label: answers_by_kind(results[(s.label, conn_counts[0])][0]["kinds"],
                                      results[(s.label, conn_counts[0])][0]["replies"])
             for s in servers}
    for kind in KINDS:
        if not any(kind in first[s.label] for s in servers):
            continue
        cells = []
        for s in servers:
            row = first[s.label].get(kind, {})
            cells.append("%s: %s" % (s.label, " ".join(
                "%s %d" % vc for vc in sorted(row.items(), key=lambda kv: -kv[1])) or "-"))
        print("  %-17s %s" % (kind, "   ".join(cells)))
    for s in servers:
        ex = results[(s.label, conn_counts[0])][0]["examples"]
        print("  %s examples: %s" % (s.label, "; ".join(
            "%s" % (t if len(t) < 90 else t[:87] + "...") for t in ex.values())))
    problems_all = 0
    for s in servers:
        for rep_r in results[(s.label, conn_counts[0])][:1]:
            problems = check_answers(s.label, answers_by_kind(rep_r["kinds"], rep_r["replies"]))
            problems_all += len(problems)
            if problems:
                print("  UNEXPECTED answers from %s: %s" % (s.label, "; ".join(problems)))
    if not problems_all:
        print("  answers as expected (new triplets deferred, known ones passed%s)" % (
            ", foreign senders refused by policyd" if any(s.label == "policyd"
                                                          for s in servers) else ""))
    print()
    for n in conn_counts:
        print("latency by request kind, p50 / p99 in ms (all runs at %d connections):" % n)
        lat = {}
        for s in servers:
            lat[s.label] = {}
            for r in results[(s.label, n)]:
                answers_by_kind(r["kinds"], r["replies"], lat[s.label])
        for kind in KINDS:
            if any(kind in lat[s.label] for s in servers):
                print("  %-17s %s" % (kind, "   ".join(
                    "%s %6.2f / %6.2f" % (s.label, pct(lat[s.label].get(kind, []), 0.5),
                                          pct(lat[s.label].get(kind, []), 0.99))
                    for s in servers)))
    print()

    print("targets:")
    have = {s.label for s in servers}
    if "policyd" not in have:
        print("  (policyd not measured: no target can be checked)")
    if "policyd" in have and "postgrey" in have and 8 in conn_counts:
        x = summary[("policyd", 8)]["rate"] / summary[("postgrey", 8)]["rate"]
        print("  %-8s policyd requests/s at 8 connections >= 10x postgrey's   x%.1f "
              "(%.0f vs %.0f)" % ("PASS" if x >= 10 else "NOT MET", x,
                                  summary[("policyd", 8)]["rate"],
                                  summary[("postgrey", 8)]["rate"]))
    elif "policyd" in have:
        print("  (10x postgrey at 8 connections: needs postgrey and --connections with 8)")
    if "policyd" in have and 50 in conn_counts:
        p99 = summary[("policyd", 50)]["p99"]
        print("  %-8s policyd p99 at 50 connections < 5 ms                    %.2f ms" % (
            "PASS" if p99 < 5.0 else "NOT MET", p99))
    elif "policyd" in have:
        print("  (p99 at 50 connections: needs --connections with 50)")
    for other in ("postgrey", "postfwd"):
        if "policyd" in have and other in have:
            for n in conn_counts:
                a, b = summary[("policyd", n)], summary[(other, n)]
                print("  info     policyd vs %-8s at %2d conns: rate x%.1f, server CPU/request "
                      "1/%.1f (policyd + mariadbd: 1/%.1f)" % (
                          other, n, a["rate"] / b["rate"],
                          b["srv"] / a["srv"] if a["srv"] > 0 else float("inf"),
                          b["srv"] / (a["srv"] + a["db"]) if a["srv"] + a["db"] > 0
                          else float("inf")))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
