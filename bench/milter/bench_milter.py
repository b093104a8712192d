#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""bench_milter - vhostmail-milter vs OpenDKIM, signing with the same key files, driven by one
lean milter client; the machine's RSA-2048 ceiling; end to end through a private Postfix.

Normally started by bench/milter/run.sh (which installs OpenDKIM, Postfix and OpenSSL and builds
the milter, the admin tool, authd and lmtpd in release mode first); not part of the test suite.
Run as root, with Debian's /usr/bin/python3 (python3-dkim checks the signatures).

What it does, all in private temporary directories (no system service is touched):
  1. compiles milter_client.cc (g++ -O2, under flock /tmp/vhm-build.lock): the MTA side of the
     milter protocol as Postfix's smtpd speaks it, K connections on one epoll thread, one message
     per milter connection (a submission client sends one message per SMTP session), and an
     SMTP mode with AUTH PLAIN for the end-to-end runs;
  2. a private mariadbd (tests/integration/vhm_mariadb.py), `vhostmail db migrate`, domains
     rsa.bench.example (one active key: RSA-2048, selector r1) and ed.bench.example (one active
     key: Ed25519, selector e1), each with a mailbox sender@ that logs in and is the From, and
     sink.bench.example (no key) for the end-to-end deliveries; keys made with `vhostmail dkim
     keygen` and `vhostmail dkim activate`, files root:postfix 0640 in a directory under /run
     (OpenDKIM's RequireSafeKeys refuses keys below the world-writable /tmp);
  3. vhostmail-milter (relaxed/relaxed, its defaults otherwise) and two OpenDKIM 2.11 instances
     (Mode s, one per SignatureAlgorithm, KeyTable/SigningTable naming the SAME key files,
     Canonicalization relaxed/relaxed, OversignHeaders From as in Debian's opendkim.conf,
     UserID postfix like the milter, its own socket, foreground, no system service);
  4. checks that every milter signs: one message per milter and algorithm through milter_client
     (--dump writes the inserted fields), verified with python3-dkim (tests/integration/milter/
     dkim_verify.py) against the records `vhostmail dkim show` prints;
  5. under flock(/tmp/vhm-build.lock), so no build or test suite competes for the 2 cores:
     `openssl speed -multi 2 rsa2048` (and ed25519), then per message size, session count,
     algorithm and milter, --seconds of load (rounds interleaved, --repeat rounds): messages/s,
     the milter's CPU per message (utime+stime of its process from /proc), the client's CPU per
     message, latency; how the small Python client of run_milter_protocol_test.py fares
     against milter_client on the cheapest cell; then end to end: a private Postfix with three
     submission services on their own ports (SMTP AUTH PLAIN through vhostmail-authd;
     smtpd_milters none / vhostmail-milter / OpenDKIM-Ed25519), messages sent by
     milter_client --protocol smtp, delivered by vhostmail-lmtpd (default_transport = lmtp:)
     or discarded (--e2e-delivery discard);
     messages/s from the first connection to the last delivery logged by Postfix;
  6. prints the table, the ratios, the targets (PASS/MISS, never an assertion) and exits 0;
     1 only when the bench itself failed.
"""

import argparse
import collections
import fcntl
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.dont_write_bytecode = True  # no __pycache__ left in the repository
for sub in ("tests/integration", "tests/integration/milter", "bench/lookup", "bench/policy"):
    sys.path.insert(0, os.path.join(ROOT, sub))

import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402
from bench_lookup import CLK_TCK, LOCK_FILE, _term_with_parent, which  # noqa: E402
from bench_policy import alive, guard, tree_cpu, wait_listening  # noqa: E402

ALGS = {  # name: (domain, selector, a=)
    "rsa": ("rsa.bench.example", "r1", "rsa-sha256"),
    "ed25519": ("ed.bench.example", "e1", "ed25519-sha256"),
}
ALG_LABEL = {"rsa": "RSA-2048", "ed25519": "Ed25519"}
SINK_DOMAIN = "sink.bench.example"
SINK = "sink@" + SINK_DOMAIN
PASSWORD = "bench-password-1"
MILTERS = ("vhostmail", "opendkim")
# Both milters run as Postfix's mail_owner (vhostmail-milter's default milter_user) and the keys
# are root:postfix 0640: a group that holds no other user, as vhostmail's own default group
# (vhostmail-milter) does in production. OpenDKIM's RequireSafeKeys (on by default) refuses a
# group-readable key whose group any other user has as primary group (nogroup: nobody, _apt).
MILTER_USER = "postfix"
WORDS = ("the of and to in is that for it as with was on be by at this are from or have an "
         "but not they which one you all were her she there would their we him been has when "
         "who will more no if out so said what up its about into than them can only other new "
         "some could time these two may then do first any my now such like our over man me "
         "even most made after also did many before must through back years where much your "
         "way well down should because each just those people mr how too little state good "
         "very make world still own see men work long get here between both life being under "
         "never day same another know while last might us great old year off come since "
         "against go came right used take three").split()


def sender(alg):
    return "sender@" + ALGS[alg][0]


# ---------------------------------------------------------------------------------------------
# messages


def make_message(size, from_addr, to_addr, subject, seed):
    """An RFC 5322 message of about `size` bytes (CRLF): the header fields a mail program
    writes, then text lines of words (blanks and line ends for relaxed canonicalization)."""
    rng = random.Random(seed)
    head = ("From: Bench Sender <%s>\r\n"
            "To: <%s>\r\n"
            "Subject: %s\r\n"
            "Date: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
            "Message-ID: <%d.%s@client.bench.example>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
            "Content-Transfer-Encoding: 8bit\r\n"
            "User-Agent: bench_milter\r\n"
            "\r\n") % (from_addr, to_addr, subject, seed, subject.replace(" ", "."))
    lines = []
    total = len(head)
    while total < size:
        line = ""
        while len(line) < 60:
            line += rng.choice(WORDS) + " "
        line = line.rstrip() + "\r\n"
        if total + len(line) > size:
            line = line[:max(2, size - total - 2)].rstrip() + "\r\n"
        if rng.random() < 0.1:
            line += "\r\n"
        lines.append(line)
        total += len(line)
    return (head + "".join(lines)).encode()


# ---------------------------------------------------------------------------------------------
# processes

RUNNING = []  # client processes of the current phase, killed on the way out


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, check=False,
                          preexec_fn=_term_with_parent, **kw)


def compile_client(tmp, no_lock):
    out = os.path.join(tmp, "milter_client")
    cmd = ["g++", "-O2", "-std=c++17", "-Wall", "-o", out, os.path.join(HERE, "milter_client.cc")]
    if not no_lock:
        cmd = ["flock", LOCK_FILE] + cmd
    r = run(cmd)
    if r.returncode != 0:
        raise RuntimeError("compiling milter_client failed:\n" + r.stderr)
    return out


def proc_cpu(pid):
    """(utime+stime, stime) seconds of one process, all its threads (exited ones too)."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK, int(fields[12]) / CLK_TCK


def machine_busy():
    """Busy CPU seconds of the whole machine so far (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return (sum(v) - v[3] - v[4]) / CLK_TCK


def parse_client(out):
    r = {"outcomes": {}, "examples": {}}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        if key.startswith("outcome."):
            r["outcomes"][key[8:]] = int(value)
        elif key.startswith("example."):
            r["examples"][key[8:]] = value
        elif key.startswith(("negotiated_", "symlist.")):
            r[key] = value
        else:
            try:
                r[key] = float(value)
            except ValueError:
                r[key] = value
    return r


def client_run(client, args, timeout):
    p = subprocess.Popen([client] + args + ["--timeout", str(timeout)], stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         preexec_fn=_term_with_parent)
    RUNNING.append(p)
    out, err = p.communicate()
    RUNNING.remove(p)
    if p.returncode != 0:
        raise RuntimeError("milter_client %s failed (%d): %s" % (" ".join(args), p.returncode,
                                                                 err.strip()))
    return parse_client(out)


class VhostmailMilter:
    label = "vhostmail"

    def __init__(self, binary, tmp, base_cf):
        self.sock = os.path.join(tmp, "vhostmail-milter.sock")
        self.target = "unix:" + self.sock
        cf = base_cf + ("milter_listen = unix:%s\nmilter_socket_group =\n"
                        "milter_socket_mode = 0666\nmilter_canonicalization = relaxed/relaxed\n"
                        "milter_user = %s\n" % (self.sock, MILTER_USER))
        self.d = vhm_daemon.daemon(binary, cf, tmp, name="vhostmail-milter")
        self.tmp = tmp
        self.pid = None
        self.watchdog = None

    def start(self):
        self.d.start()
        self.pid = self.d.proc.pid
        self.watchdog = guard(self.pid, self.tmp)
        self.d.wait_for_log("routing data loaded")

    def stop(self):
        if self.d.proc is not None and self.d.proc.poll() is None:
            self.d.proc.send_signal(signal.SIGTERM)
            try:
                self.d.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.d.kill()
        if self.watchdog is not None:
            self.watchdog.kill()
            self.watchdog.wait()
            self.watchdog = None

    def log_text(self):
        return self.d.log()


class OpenDKIM:
    """One opendkim in signing mode for one algorithm, with the vhostmail key file."""

    def __init__(self, binary, tmp, alg, key_file):
        domain, selector, a = ALGS[alg]
        self.label = "opendkim"
        self.alg = alg
        self.tmp = tmp
        d = os.path.join(tmp, "opendkim-" + alg)
        os.makedirs(d)
        shutil.chown(d, MILTER_USER, MILTER_USER)  # it makes its socket after the privilege drop
        self.sock = os.path.join(d, "opendkim.sock")
        self.target = "unix:" + self.sock
        self.conf = os.path.join(d, "opendkim.conf")
        self.log = os.path.join(d, "stderr.log")
        with open(os.path.join(d, "KeyTable"), "w") as f:
            f.write("%s-%s %s:%s:%s\n" % (selector, domain, domain, selector, key_file))
        with open(os.path.join(d, "SigningTable"), "w") as f:
            f.write("%s %s-%s\n" % (domain, selector, domain))
        with open(self.conf, "w") as f:
            f.write("# bench/milter: signing only, the vhostmail key file; Debian's logging\n"
                    "Mode s\n"
                    "Syslog yes\n"
                    "SyslogSuccess yes\n"
                    "Canonicalization relaxed/relaxed\n"
                    "OversignHeaders From\n"
                    "SignatureAlgorithm %s\n"
                    "KeyTable file:%s/KeyTable\n"
                    "SigningTable file:%s/SigningTable\n"
                    "UserID %s:%s\n"
                    "UMask 000\n"
                    "Background no\n"
                    "Socket local:%s\n" % (a, d, d, MILTER_USER, MILTER_USER, self.sock))
        self.args = [binary, "-f", "-x", self.conf]
        self.pid = None
        self.proc = None
        self.watchdog = None

    def start(self):
        with open(self.log, "w") as err:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=err,
                                         stderr=err, preexec_fn=_term_with_parent)
        self.pid = self.proc.pid
        self.watchdog = guard(self.pid, self.tmp)
        if not wait_listening(self.target, lambda: alive(self.pid)):
            raise RuntimeError("opendkim (%s) did not start:\n%s" % (self.alg, self.log_text()))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.watchdog is not None:
            self.watchdog.kill()
            self.watchdog.wait()
            self.watchdog = None

    def log_text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


# ---------------------------------------------------------------------------------------------
# setup


def admin(tool, db, keydir, *args, stdin=None):
    r = vhm_daemon.admin_tool(tool, db, *args, stdin=stdin, options=[
        "admin_dkim_key_directory=" + keydir, "admin_dkim_key_group=" + MILTER_USER])
    if r.returncode != 0:
        raise RuntimeError("vhostmail %s failed (%d): %s %s" % (" ".join(args), r.returncode,
                                                              r.stdout.strip(), r.stderr.strip()))
    return r.stdout


def load_data(tool, db, keydir):
    """Schema, domains, mailboxes, keys (in keydir); returns ({alg: key file},
    {dns name: record})."""
    r = vhm_daemon.migrate(tool, db, ROOT)
    if r.returncode != 0:
        raise RuntimeError("vhostmail db migrate failed: %s %s" % (r.stdout, r.stderr))
    keys, records = {}, {}
    for alg, (domain, selector, _) in ALGS.items():
        admin(tool, db, keydir, "domain", "add", domain)
        admin(tool, db, keydir, "address", "add", sender(alg), "mailbox=yes")
        admin(tool, db, keydir, "address", "passwd", sender(alg), "--stdin", stdin=PASSWORD + "\n")
        admin(tool, db, keydir, "dkim", "keygen", domain, "--selector", selector, "--algorithm",
              "rsa" if alg == "rsa" else "ed25519")
        admin(tool, db, keydir, "dkim", "activate", domain, selector)
        keys[alg] = os.path.join(keydir, "%s.%s.key" % (domain, selector))
        for rec in json.loads(admin(tool, db, keydir, "--json", "dkim", "show", domain) or "[]"):
            records[rec["name"]] = rec["record"]
    admin(tool, db, keydir, "domain", "add", SINK_DOMAIN)
    admin(tool, db, keydir, "address", "add", SINK, "mailbox=yes")
    return keys, records


# ---------------------------------------------------------------------------------------------
# checks with the Python client of the protocol test


def verify_signing(client, milter, alg, records, tmp):
    """Sends one message through `milter` with milter_client and verifies the inserted
    signature with python3-dkim: (ok, text)."""
    msg = make_message(4096, sender(alg), "friend@example.net", "verify %s" % alg, 1)
    path = os.path.join(tmp, "verify-%s-%s.eml" % (milter.label, alg))
    dump = path + ".inserted"
    with open(path, "wb") as f:
        f.write(msg)
    r = client_run(client, milter_args(milter, path, alg, 1, 0, 1) + ["--dump", dump], 30)
    if r["outcomes"] != {"signed": 1}:
        return False, "not signed: %s %s" % (fmt_outcomes(r), r["examples"])
    with open(dump, "rb") as f:
        inserted = f.read()
    signed = inserted + msg
    tags = dict(re.findall(r"([a-z]+)=([^;]*)", re.sub(r"\s+", "", inserted.decode(
        errors="replace").split(":", 1)[1])))
    try:
        import dkim_verify
    except SystemExit as e:  # dkim_verify exits when python3-dkim is missing
        return True, "signed (a=%s), not verified: %s" % (tags.get("a"), e)
    ok, detail = dkim_verify.verify_python(signed, records)
    return ok and tags.get("a") == ALGS[alg][2], "%s; h=%s" % (
        detail.strip().replace("\n", "; "), tags.get("h"))


def python_client_rate(milter, alg, size, sessions, seconds):
    """The small Python client of run_milter_protocol_test.py in `sessions` threads for
    `seconds`: (messages/s, its CPU per message in us, milter CPU per message in us)."""
    import run_milter_protocol_test as mproto
    msg = make_message(size, sender(alg), "friend@example.net", "python client", 2)
    stop = time.monotonic() + seconds
    counts = [0] * sessions
    errors = []

    def work(i):
        try:
            while time.monotonic() < stop:
                out = mproto.send_message(milter.sock, msg, sender(alg),
                                          "PY%05d%04d" % (i, counts[i]))
                if out.stage != "eom":
                    errors.append(out.text)
                    return
                counts[i] += 1
        except Exception as e:  # noqa: BLE001 - reported
            errors.append(str(e))
    c0, m0, t0 = time.process_time(), proc_cpu(milter.pid)[0], time.monotonic()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    n = sum(counts) or 1
    return (sum(counts) / elapsed, 1e6 * (time.process_time() - c0) / n,
            1e6 * (proc_cpu(milter.pid)[0] - m0) / n, errors[:1])


# ---------------------------------------------------------------------------------------------
# the machine's ceiling


def openssl_speed(alg, seconds):
    """sign/s of `openssl speed -multi 2 -seconds S` for rsa2048 or ed25519 (None on failure)."""
    r = run(["openssl", "speed", "-multi", "2", "-seconds", str(seconds), alg])
    text = r.stdout + r.stderr
    if alg == "rsa2048":
        m = re.search(r"^rsa\s+2048 bits\s+\S+\s+\S+\s+([0-9.]+)\s+[0-9.]+\s*$", text, re.M)
    else:
        m = re.search(r"^\s*253 bits EdDSA \(Ed25519\)\s+\S+\s+\S+\s+([0-9.]+)\s+[0-9.]+\s*$",
                      text, re.M)
    return float(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------------
# end to end


def count_sent(logfile, offset):
    """(delivered, problems, new offset): Postfix log lines with status=sent / other statuses
    from `offset` on."""
    try:
        with open(logfile, "rb") as f:
            f.seek(offset)
            data = f.read()
    except OSError:
        return 0, 0, offset
    end = data.rfind(b"\n") + 1
    chunk = data[:end]
    return (chunk.count(b" status=sent "), chunk.count(b" status=deferred ") +
            chunk.count(b" status=bounced "), offset + end)


def proc_table():
    """{pid: (name, utime+stime seconds, cutime+cstime seconds)} of every process."""
    out = {}
    me = os.getpid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if name.startswith("kworker/"):
            name = "kworker"
        elif int(pid) == me:
            name = "(this bench)"
        fields = stat[stat.rindex(")") + 2:].split()
        out[int(pid)] = (name, (int(fields[11]) + int(fields[12])) / CLK_TCK,
                         (int(fields[13]) + int(fields[14])) / CLK_TCK)
    return out


class CpuSampler:
    """CPU per program over a run, exited processes included: /proc is read every 0.25 s, and a
    process that ended counts with its last reading (Postfix's smtpd, cleanup, ... end after
    max_use = 100 sessions). The load client is counted from what this process reaped."""

    def __init__(self):
        self.first = proc_table()
        self.last = dict(self.first)
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stop_event.wait(0.25):
            self.last.update(proc_table())

    def stop(self):
        """{program: CPU seconds} since the start."""
        self.stop_event.set()
        self.thread.join()
        self.last.update(proc_table())
        used = collections.Counter()
        for pid, (name, cpu, reaped) in self.last.items():
            before = self.first.get(pid)
            if before is not None and before[0] != name:  # exec'd since: count from 0
                before = None
            used[name] += cpu - (before[1] if before else 0.0)
            if name == "(this bench)":
                used["milter_client"] += reaped - (before[2] if before else 0.0)
        return used


def e2e_run(client, pf, port, msg_path, count, sessions, alg, timeout):
    """One end-to-end run: `count` messages over `sessions` SMTP sessions (AUTH, one message per
    session) to the submission service on `port`; returns a result dict."""
    _, _, offset = count_sent(pf.logfile, 0)
    # the log may still get lines of the run before: wait for the queue to be empty first
    sampler = CpuSampler()
    b0 = machine_busy()
    t0 = time.monotonic()
    r = client_run(client, ["--protocol", "smtp", "--target", "inet:127.0.0.1:%d" % port,
                            "--message", msg_path, "--sessions", str(sessions), "--count",
                            str(count), "--login", sender(alg), "--password", PASSWORD,
                            "--mail-from", sender(alg), "--rcpt", SINK], timeout)
    accepted = r["outcomes"].get("data-250", 0)
    delivered = problems = 0
    deadline = time.monotonic() + timeout + count / 50.0
    while time.monotonic() < deadline:
        n, p, offset = count_sent(pf.logfile, offset)
        delivered += n
        problems += p
        if delivered + problems >= accepted:
            break
        time.sleep(0.05)
    t1 = time.monotonic()
    b1 = machine_busy()
    used = sampler.stop()
    r.update({"accepted": accepted, "delivered": delivered, "problems": problems,
              "e2e_rate": delivered / (t1 - t0) if t1 > t0 else 0.0, "wall": t1 - t0,
              "intake_rate": r.get("rate", 0.0), "busy_cores": (b1 - b0) / (t1 - t0),
              "cpu": {k: 1e6 * v / max(1, delivered) for k, v in used.items() if v > 0.0}})
    return r


# ---------------------------------------------------------------------------------------------
# main


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "release"),
                    help="release build directory (daemons/*/...)")
    ap.add_argument("--seconds", type=float, default=5.0, help="per measured milter cell")
    ap.add_argument("--repeat", type=int, default=3, help="rounds of the milter cells")
    ap.add_argument("--sizes", default="4096,102400")
    ap.add_argument("--sessions", default="1,8")
    ap.add_argument("--algorithms", default="rsa,ed25519")
    ap.add_argument("--only", default="vhostmail,opendkim", help="milters to measure")
    ap.add_argument("--per-connection", type=int, default=1,
                    help="messages per milter connection (Postfix: one per SMTP session)")
    ap.add_argument("--openssl-seconds", type=int, default=3)
    ap.add_argument("--python-client-seconds", type=float, default=3.0,
                    help="the Python client's run (0: skip)")
    ap.add_argument("--e2e-messages", type=int, default=3000, help="per end-to-end run (0: skip)")
    ap.add_argument("--e2e-sessions", type=int, default=8)
    ap.add_argument("--e2e-size", type=int, default=4096)
    ap.add_argument("--e2e-repeat", type=int, default=3)
    ap.add_argument("--e2e-delivery", choices=("lmtpd", "discard"), default="lmtpd")
    ap.add_argument("--quick", action="store_true",
                    help="--seconds 2 --repeat 1 --openssl-seconds 1 --python-client-seconds 2 "
                         "--e2e-messages 600 --e2e-repeat 1")
    ap.add_argument("--perf", metavar="DIR",
                    help="profile each milter cell of the first round with perf record -g into "
                         "DIR (slows those cells; reports written as DIR/*.txt)")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--no-lock", action="store_true", help="do not take " + LOCK_FILE)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    quick = argparse.ArgumentParser(add_help=False)
    quick.add_argument("--quick", action="store_true")
    if quick.parse_known_args()[0].quick:  # new defaults: options given still win
        ap.set_defaults(seconds=2.0, repeat=1, openssl_seconds=1, python_client_seconds=2.0,
                        e2e_messages=600, e2e_repeat=1)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    session_counts = [int(s) for s in args.sessions.split(",") if s.strip()]
    algs = [a.strip() for a in args.algorithms.split(",") if a.strip()]
    only = [m.strip() for m in args.only.split(",") if m.strip()]
    if (not sizes or not session_counts or any(a not in ALGS for a in algs) or not only
            or any(m not in MILTERS for m in only) or args.repeat < 1):
        ap.error("bad --sizes/--sessions/--algorithms/--only/--repeat")

    def on_signal(signum, _frame):
        print("\nbench_milter: signal %d, cleaning up" % signum, file=sys.stderr)
        raise SystemExit(128 + signum)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)

    if os.geteuid() != 0:
        print("bench_milter: run as root (the milters drop privileges; Postfix)", file=sys.stderr)
        return 1
    bins = {"milter": "daemons/milter/vhostmail-milter", "admin": "daemons/admin/vhostmail",
            "authd": "daemons/authd/vhostmail-authd", "lmtpd": "daemons/deliver/vhostmail-lmtpd"}
    bins = {k: os.path.join(args.bin, v) for k, v in bins.items()}
    for k in ("milter", "admin"):
        if not os.path.exists(bins[k]):
            print("bench_milter: %s not found (run.sh builds it)" % bins[k], file=sys.stderr)
            return 1
    opendkim_bin = which("opendkim")
    if "opendkim" in only and not opendkim_bin:
        print("bench_milter: opendkim is not installed (run.sh installs it)", file=sys.stderr)
        return 1
    reason = vhm_mariadb.unavailable_reason()
    if reason:
        print("bench_milter: MariaDB %s" % reason, file=sys.stderr)
        return 1
    e2e = args.e2e_messages > 0
    if e2e and not all(os.path.exists(bins[k]) for k in ("authd", "lmtpd")):
        print("NOTE: end to end skipped: vhostmail-authd or vhostmail-lmtpd not built")
        e2e = False
    if e2e and not which("postfix"):
        print("NOTE: end to end skipped: postfix is not installed")
        e2e = False

    t_start = time.monotonic()
    rev = run(["git", "-C", ROOT, "describe", "--always", "--dirty"]).stdout.strip()
    ver = run([opendkim_bin, "-V"]).stdout.splitlines()[0] if opendkim_bin else "-"
    print("bench_milter: source tree %s; vhostmail-milter %s (built %s); %s; %s" % (
        rev or "?", bins["milter"], time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(
            os.stat(bins["milter"]).st_mtime)), ver.strip(),
        run(["openssl", "version"]).stdout.strip()))
    print("machine: %d CPUs, %s" % (os.cpu_count(), open("/proc/cpuinfo").read().split(
        "model name")[1].split(":", 1)[1].split("\n")[0].strip()))

    tmp = tempfile.mkdtemp(prefix="vhm-bench-milter-", dir="/tmp")
    os.chmod(tmp, 0o755)
    # The keys go where no parent directory is world-writable: OpenDKIM's RequireSafeKeys
    # (default on) refuses a key under /tmp; in production they live in /etc/vhostmail/dkim.
    keyroot = tempfile.mkdtemp(prefix="vhm-bench-milter-keys-", dir="/run")
    os.chmod(keyroot, 0o755)
    keydir = os.path.join(keyroot, "dkim")
    servers = []
    stack = []  # end-to-end processes (context managers), left in reverse order
    lock = None
    tmp_guard = guard(None, tmp)
    key_guard = guard(None, keyroot)
    try:
        client = compile_client(tmp, args.no_lock)
        with vhm_mariadb.private_mariadb() as db:
            base = vhm_daemon.base_config(db, tmp)
            t0 = time.monotonic()
            keys, records = load_data(bins["admin"], db, keydir)
            print("database and keys (vhostmail dkim keygen/activate): %.1f s; %s" % (
                time.monotonic() - t0, ", ".join("%s %s" % (ALG_LABEL[a], os.path.basename(k))
                                                   for a, k in keys.items())))
            milters = {}  # (label, alg) -> server
            if "vhostmail" in only:
                vm = VhostmailMilter(bins["milter"], tmp, base)
                servers.append(vm)
                vm.start()
                for a in ALGS:
                    milters[("vhostmail", a)] = vm
            if "opendkim" in only or e2e:
                for a in ALGS:
                    od = OpenDKIM(opendkim_bin, tmp, a, keys[a])
                    servers.append(od)
                    od.start()
                    milters[("opendkim", a)] = od
            print("milters: " + ", ".join("%s/%s pid %d" % (label, a, s.pid)
                                          for (label, a), s in sorted(milters.items())))
            if not os.path.exists("/dev/log"):
                print("NOTE: no /dev/log here: OpenDKIM's syslog lines go nowhere, while "
                      "vhostmail-milter writes its line per message to a file")

            # -- every milter signs, verifiably ------------------------------------------
            for (label, a), s in sorted(milters.items()):
                ok, text = verify_signing(client, s, a, records, tmp)
                print("check: %-9s %-8s %s  %s" % (label, ALG_LABEL[a],
                                                   "signs, python3-dkim verifies" if ok
                                                   else "FAILED", text[:150]))

            # -- message files ------------------------------------------------------------
            msg_files = {}
            for size in sizes:
                for a in algs:
                    path = os.path.join(tmp, "msg-%s-%d.eml" % (a, size))
                    with open(path, "wb") as f:
                        f.write(make_message(size, sender(a), "friend@example.net",
                                             "bench %s %d" % (a, size), size))
                    msg_files[(a, size)] = path

            cells = []
            for size in sizes:
                for n in session_counts:
                    for a in algs:
                        for label in only:
                            cells.append((size, n, a, label))

            # -- end-to-end setup (before the lock: Postfix and the daemons start) ----------
            pf = None
            e2e_ports = {}
            if e2e:
                pf, e2e_ports = start_e2e(tmp, base, bins, milters, args, stack)

            # -- measuring ---------------------------------------------------------------
            if not args.no_lock:
                lock = open(LOCK_FILE, "a")
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    print("waiting for %s (a build or test run holds it) ..." % LOCK_FILE,
                          flush=True)
                    fcntl.flock(lock, fcntl.LOCK_EX)
            t_measure = time.monotonic()
            ceiling = {}
            if args.openssl_seconds > 0:
                ceiling["rsa"] = openssl_speed("rsa2048", args.openssl_seconds)
                ceiling["ed25519"] = openssl_speed("ed25519", args.openssl_seconds)
                print("openssl speed -multi 2: RSA-2048 %s sign/s, Ed25519 %s sign/s" % (
                    "%.0f" % ceiling["rsa"] if ceiling["rsa"] else "?",
                    "%.0f" % ceiling["ed25519"] if ceiling["ed25519"] else "?"), flush=True)

            # warm-up: each milter, each algorithm, 1 s
            for (label, a), s in sorted(milters.items()):
                if label in only and a in algs:
                    client_run(client, milter_args(s, msg_files[(a, sizes[0])], a, 2, 1.0,
                                                   args.per_connection), args.timeout)
            pids = {}
            for (label, a), s in sorted(milters.items()):
                pids[label if label == "vhostmail" else label + "/" + a] = s.pid
            idle = idle_cpu(list(pids.items()) + [("mariadbd", db.pid)])
            print("idle CPU (background work, included in the per-message figures): " + idle)

            results = collections.defaultdict(list)
            for rep in range(args.repeat):
                for size, n, a, label in cells:
                    s = milters[(label, a)]
                    c0 = proc_cpu(s.pid)
                    d0 = tree_cpu(db.pid)[0]
                    b0 = machine_busy()
                    perf = start_perf(args.perf, s.pid, (size, n, a, label)) if rep == 0 else None
                    r = client_run(client, milter_args(s, msg_files[(a, size)], a, n,
                                                       args.seconds, args.per_connection),
                                   args.timeout)
                    c1 = proc_cpu(s.pid)
                    d1 = tree_cpu(db.pid)[0]
                    b1 = machine_busy()
                    stop_perf(perf)
                    m = r["messages"] or 1
                    r["milter_us"] = 1e6 * (c1[0] - c0[0]) / m
                    r["milter_sys_us"] = 1e6 * (c1[1] - c0[1]) / m
                    r["client_us"] = r["client_cpu_us"] / m
                    r["db_us"] = 1e6 * (d1 - d0) / m
                    r["milter_cores"] = (c1[0] - c0[0]) / r["seconds"]
                    # everything else that ran meanwhile (another engineer's build, ...)
                    r["other_cores"] = max(0.0, (b1 - b0) - (c1[0] - c0[0]) - (d1 - d0) -
                                           r["client_cpu_us"] / 1e6) / r["seconds"]
                    results[(size, n, a, label)].append(r)
                    print("  round %d/%d %6s %2d sess %-8s %-9s %8.0f msg/s  milter %7.1f us/msg"
                          " (%.2f cores)  client %5.1f us/msg  p50 %6.2f ms  p99 %6.2f ms"
                          "  other load %.2f cores  %s" % (
                              rep + 1, args.repeat, fmt_size(size), n, ALG_LABEL[a], label,
                              r["rate"], r["milter_us"], r["milter_cores"], r["client_us"],
                              r["latency_us_p50"] / 1e3, r["latency_us_p99"] / 1e3,
                              r["other_cores"], fmt_outcomes(r)), flush=True)

            py = None
            if args.python_client_seconds > 0 and ("vhostmail", "ed25519") in milters:
                s = milters[("vhostmail", "ed25519")]
                py = python_client_rate(s, "ed25519", sizes[0], max(session_counts),
                                        args.python_client_seconds)
                print("  Python client (run_milter_protocol_test.send_message, %d threads), "
                      "vhostmail Ed25519 %s: %.0f msg/s, client %.0f us/msg, milter %.1f us/msg%s"
                      % (max(session_counts), fmt_size(sizes[0]), py[0], py[1], py[2],
                         "  ERROR " + py[3][0] if py[3] else ""), flush=True)

            e2e_results = collections.defaultdict(list)
            if e2e:
                e2e_results = run_e2e(client, pf, e2e_ports, tmp, args)
            measure_time = time.monotonic() - t_measure
            if lock is not None:
                lock.close()
                lock = None

            report(args, sizes, session_counts, algs, only, results, ceiling, py, e2e_results,
                   measure_time)
            if e2e:
                verify_e2e(tmp, records, args)
            for s in servers:
                text = s.log_text()
                bad = [ln for ln in text.splitlines()
                       if re.search(r"\b(warning|error|fatal)\b|ERROR|FATAL", ln)]
                print("%s log: %d lines, %d warnings/errors%s" % (
                    s.label + ("/" + s.alg if isinstance(s, OpenDKIM) else ""),
                    len(text.splitlines()), len(bad),
                    "" if not bad else ":\n    " + "\n    ".join(bad[:5])))
            if pf is not None:
                bad = [ln for ln in pf.log().splitlines()
                       if re.search(r"(warning|error|fatal|panic):", ln)]
                print("postfix log: %d warnings/errors%s" % (
                    len(bad), "" if not bad else ":\n    " + "\n    ".join(bad[:5])))
            stop_stack(stack)
            for s in reversed(servers):
                s.stop()
            servers = []
        print("total bench time %.0f s" % (time.monotonic() - t_start))
        return 0
    finally:
        for p in list(RUNNING):
            try:
                p.kill()
            except OSError:
                pass
        stop_stack(stack)
        for s in reversed(servers):
            try:
                s.stop()
            except Exception as e:  # noqa: BLE001 - keep cleaning up
                print("bench_milter: stopping %s: %s" % (s.label, e), file=sys.stderr)
        if lock is not None:
            lock.close()
        for g in (tmp_guard, key_guard):
            g.kill()
            g.wait()
        if args.keep:
            print("kept", tmp, keyroot)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(keyroot, ignore_errors=True)


def start_perf(directory, pid, cell):
    """perf record -g of `pid` into directory/CELL.data, or None."""
    if not directory:
        return None
    os.makedirs(directory, exist_ok=True)
    size, n, a, label = cell
    name = os.path.join(directory, "%s-%s-%dk-%ds" % (label, a, size // 1024, n))
    p = subprocess.Popen(["perf", "record", "-F", "999", "-g", "-p", str(pid), "-o",
                          name + ".data"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         preexec_fn=_term_with_parent)
    time.sleep(0.3)
    return p, name


def stop_perf(perf):
    if perf is None:
        return
    p, name = perf
    p.send_signal(signal.SIGINT)
    p.wait()
    with open(name + ".txt", "w") as out:
        subprocess.run(["perf", "report", "--stdio", "--no-children", "-i", name + ".data",
                        "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.5"],
                       stdout=out, stderr=subprocess.DEVNULL, check=False)
    print("    perf: %s.txt" % name)


def milter_args(server, msg_path, alg, sessions, seconds, per_connection):
    """seconds 0: one message."""
    return ["--protocol", "milter", "--target", server.target, "--message", msg_path,
            "--sessions", str(sessions)] + (["--seconds", str(seconds)] if seconds else
                                            ["--count", "1"]) + ["--per-connection",
            str(per_connection), "--login", sender(alg), "--mail-from", sender(alg),
            "--rcpt", "friend@example.net"]


def idle_cpu(pids, seconds=2.0):
    c0 = [(label, pid, tree_cpu(pid)[0]) for label, pid in pids]
    time.sleep(seconds)
    return ", ".join("%s %.1f ms/s" % (label, 1e3 * (tree_cpu(pid)[0] - c) / seconds)
                     for label, pid, c in c0)


def fmt_size(size):
    return "%d KB" % round(size / 1024) if size >= 1024 else "%d B" % size


def fmt_outcomes(r):
    return " ".join("%s %d" % kv for kv in sorted(r["outcomes"].items(), key=lambda kv: -kv[1]))


# ---------------------------------------------------------------------------------------------
# end to end


def stop_stack(stack):
    """Leaves the end-to-end context managers (and stops their watchdogs), newest first."""
    while stack:
        ctx, watchdog = stack.pop()
        try:
            ctx.__exit__(None, None, None)
        except Exception as e:  # noqa: BLE001 - keep cleaning up
            print("bench_milter: stopping %s: %s" % (type(ctx).__name__, e), file=sys.stderr)
        if watchdog is not None:
            watchdog.kill()
            watchdog.wait()


def start_e2e(tmp, base, bins, milters, args, stack):
    """authd, lmtpd (unless --e2e-delivery discard), a private Postfix with three submission
    services, each pushed on `stack` with a watchdog; returns (postfix, {config: port})."""
    authd = vhm_daemon.daemon(bins["authd"], base + "authd_dovecot_listen = unix:%s/auth\n"
                              "authd_allow_cleartext = yes\n" % tmp, tmp, name="authd")
    authd.__enter__()
    stack.append((authd, guard(authd.proc.pid, tmp)))
    if args.e2e_delivery == "lmtpd":
        mailbase = vhm_daemon.mail_base(tmp)
        sendmail = os.path.join(tmp, "sendmail")
        with open(sendmail, "w") as f:
            f.write("#!/bin/sh\ncat > /dev/null\n")
        os.chmod(sendmail, 0o755)
        lmtpd = vhm_daemon.daemon(bins["lmtpd"], base + vhm_daemon.delivery_config(
            mailbase, sendmail, os.path.join(tmp, "lmtp.sock")) +
            "lmtpd_socket_mode = 0666\nlmtpd_socket_group =\n", tmp, name="lmtpd")
        lmtpd.__enter__()
        stack.append((lmtpd, guard(lmtpd.proc.pid, tmp)))
        transport = "lmtp:unix:%s/lmtp.sock" % tmp
    else:
        transport = "discard:"
    ports = {"no milter": vhm_postfix.free_port(), "vhostmail": vhm_postfix.free_port(),
             "opendkim": vhm_postfix.free_port()}
    sockets = {"no milter": None, "vhostmail": milters[("vhostmail", "ed25519")].target
               if ("vhostmail", "ed25519") in milters else None,
               "opendkim": milters[("opendkim", "ed25519")].target}
    main_cf = ("default_transport = %s\n"
               "smtpd_relay_restrictions = permit_sasl_authenticated, reject\n"
               "local_header_rewrite_clients =\n"
               "in_flow_delay = 0s\n"
               "milter_default_action = tempfail\n" % transport)
    master_cf = ""
    for name, port in ports.items():
        if name == "vhostmail" and sockets[name] is None:
            continue
        master_cf += ("127.0.0.1:%d inet n - n - - smtpd\n"
                      "  -o syslog_name=postfix/submission-%s\n"
                      "  -o smtpd_sasl_auth_enable=yes\n"
                      "  -o smtpd_sasl_type=dovecot\n  -o smtpd_sasl_path=%s/auth\n"
                      "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\n"
                      "  -o smtpd_milters=%s\n" % (
                          port, name.replace(" ", "-"), tmp,
                          sockets[name] if sockets[name] else ""))
    pf = vhm_postfix.private_postfix(os.path.join(tmp, "postfix"), main_cf_extra=main_cf,
                                     master_cf_extra=master_cf)
    stack.append((pf, None))
    pf.__enter__()
    master = pf.master_pid()
    if master:
        stack[-1] = (pf, guard(master, tmp))
    warnings = pf.postconf_warnings()
    if warnings:
        print("NOTE: postconf: " + warnings)
    return pf, {k: v for k, v in ports.items() if k != "vhostmail" or sockets[k]}


def run_e2e(client, pf, ports, tmp, args):
    results = collections.defaultdict(list)
    msgs = {}
    for name in ports:
        path = os.path.join(tmp, "e2e-%s.eml" % name.replace(" ", "-"))
        with open(path, "wb") as f:
            f.write(make_message(args.e2e_size, sender("ed25519"), SINK, "e2e %s" % name, 3))
        msgs[name] = path
    # warm-up: Postfix's processes started, authd's cache, lmtpd's connection
    for name, port in ports.items():
        e2e_run(client, pf, port, msgs[name], 50, args.e2e_sessions, "ed25519", args.timeout)
    for rep in range(args.e2e_repeat):
        for name, port in ports.items():
            r = e2e_run(client, pf, port, msgs[name], args.e2e_messages, args.e2e_sessions,
                        "ed25519", args.timeout)
            results[name].append(r)
            top = sorted(((k, v) for k, v in r["cpu"].items() if v >= 20),
                         key=lambda kv: -kv[1])
            print("  e2e round %d/%d %-10s %6.0f msg/s delivered (%d/%d, intake %5.0f/s, SMTP "
                  "session p50 %.1f ms p99 %.1f ms, machine busy %.2f cores = %.0f us/msg)\n"
                  "      CPU us/msg: %s%s" % (
                      rep + 1, args.e2e_repeat, name, r["e2e_rate"], r["delivered"],
                      args.e2e_messages, r["intake_rate"], r["latency_us_p50"] / 1e3,
                      r["latency_us_p99"] / 1e3, r["busy_cores"],
                      1e6 * r["busy_cores"] / r["e2e_rate"] if r["e2e_rate"] else 0,
                      ", ".join("%s %.0f" % kv for kv in top),
                      "" if r["problems"] == 0 and r["accepted"] == args.e2e_messages else
                      "  PROBLEMS: %s, %d not delivered" % (fmt_outcomes(r), r["problems"])),
                  flush=True)
    return results


def verify_e2e(tmp, records, args):
    """One delivered message per configuration: signed or not, and verified."""
    if args.e2e_delivery != "lmtpd":
        return
    found = {}
    for dirpath, _dirs, files in os.walk(os.path.join(tmp, "mail")):
        if os.path.basename(dirpath) != "new":
            continue
        for name in files[:]:
            with open(os.path.join(dirpath, name), "rb") as f:
                data = f.read()
            m = re.search(rb"^Subject: e2e (.*?)\r?\n", data, re.M)
            if m and m.group(1).decode() not in found:
                found[m.group(1).decode()] = data
            if len(found) == 3:
                break
    try:
        import dkim_verify
    except SystemExit:
        dkim_verify = None
    for name in ("no milter", "vhostmail", "opendkim"):
        data = found.get(name)
        if data is None:
            print("e2e check: %-10s no delivered message found" % name)
            continue
        sigs = re.findall(rb"^DKIM-Signature:", data, re.M)
        if not sigs or dkim_verify is None:
            print("e2e check: %-10s delivered, %d DKIM-Signature" % (name, len(sigs)))
            continue
        ok, detail = dkim_verify.verify_python(data.replace(b"\r\n", b"\n").replace(
            b"\n", b"\r\n"), records)
        print("e2e check: %-10s delivered, %d DKIM-Signature, python3-dkim %s" % (
            name, len(sigs), "verifies" if ok else "FAILS: " + detail.replace("\n", "; ")))


# ---------------------------------------------------------------------------------------------
# report


def report(args, sizes, session_counts, algs, only, results, ceiling, py, e2e_results,
           measure_time):
    med = statistics.median
    print()
    print("Milter signing, one message per milter connection, %.0f s per cell, median of %d "
          "round(s) (%.0f s of measuring); relaxed/relaxed" % (args.seconds, args.repeat,
                                                               measure_time))
    print()
    head = "%-6s %4s %-8s %-9s %9s %15s %10s %8s %9s %8s %8s %7s  %s" % (
        "size", "sess", "key", "milter", "msg/s", "(min..max)", "milter us", "(of sys)",
        "client us", "p50 ms", "p99 ms", "ratio", "outcome")
    print(head)
    print("-" * len(head))
    summary = {}
    for size in sizes:
        for n in session_counts:
            for a in algs:
                for label in only:
                    rs = results[(size, n, a, label)]
                    rates = [r["rate"] for r in rs]
                    row = {"rate": med(rates), "cpu": med(r["milter_us"] for r in rs),
                           "sys": med(r["milter_sys_us"] for r in rs),
                           "cli": med(r["client_us"] for r in rs),
                           "p50": med(r["latency_us_p50"] for r in rs) / 1e3,
                           "p99": med(r["latency_us_p99"] for r in rs) / 1e3,
                           "cores": med(r["milter_cores"] for r in rs)}
                    summary[(size, n, a, label)] = row
                    ratio = ""
                    if label == "vhostmail" and (size, n, a, "opendkim") in results:
                        other = med(r["rate"] for r in results[(size, n, a, "opendkim")])
                        ratio = "x%.2f" % (row["rate"] / other) if other else "-"
                    signed = all(set(r["outcomes"]) == {"signed"} for r in rs)
                    print("%-6s %4d %-8s %-9s %9.0f %15s %10.1f %8.1f %9.1f %8.2f %8.2f %7s  %s" % (
                        fmt_size(size), n, ALG_LABEL[a], label, row["rate"],
                        "(%.0f..%.0f)" % (min(rates), max(rates)), row["cpu"], row["sys"],
                        row["cli"], row["p50"], row["p99"], ratio,
                        "all signed" if signed else fmt_outcomes(rs[-1])))
            print()
    print("milter us = utime+stime of the milter process per message (/proc/PID/stat, all its "
          "threads); client us = milter_client's own CPU per message; ratio = vhostmail / "
          "OpenDKIM messages/s.")
    other = max(r["other_cores"] for rs in results.values() for r in rs)
    print("other load (CPU used by processes not in the bench while a cell ran): at most "
          "%.2f cores%s" % (other, "  WARNING: the machine was not quiet; rerun" if other > 0.15
                            else ""))
    if ceiling:
        print("openssl speed -multi 2 (same run): RSA-2048 %s sign/s, Ed25519 %s sign/s" % (
            "%.0f" % ceiling["rsa"] if ceiling.get("rsa") else "?",
            "%.0f" % ceiling["ed25519"] if ceiling.get("ed25519") else "?"))
    if py:
        key = (sizes[0], max(session_counts), "ed25519", "vhostmail")
        c = summary.get(key)
        print("client check: the small Python milter client (%d threads) drives %.0f msg/s "
              "at %.0f us CPU/msg; milter_client drives %s at %s us/msg on the same cell, so "
              "Python %s" % (
                  max(session_counts), py[0], py[1],
                  "%.0f msg/s" % c["rate"] if c else "?", "%.1f" % c["cli"] if c else "?",
                  "would be the bottleneck there" if c and py[0] < 0.9 * c["rate"] else
                  "would be enough there"))

    if e2e_results:
        print()
        print("End to end: private Postfix, submission with SMTP AUTH PLAIN (vhostmail-authd), "
              "%d SMTP sessions, one %s message per session, delivered by %s; %d messages per "
              "run, median of %d" % (args.e2e_sessions, fmt_size(args.e2e_size),
                                     "vhostmail-lmtpd (LMTP)" if args.e2e_delivery == "lmtpd"
                                     else "discard(8)", args.e2e_messages, args.e2e_repeat))
        base = None
        base_cpu = {}
        for name, rs in e2e_results.items():
            rate = med(r["e2e_rate"] for r in rs)
            cpu = {k: med(r["cpu"].get(k, 0.0) for r in rs) for r0 in rs for k in r0["cpu"]}
            busy = med(1e6 * r["busy_cores"] / r["e2e_rate"] for r in rs if r["e2e_rate"])
            if name == "no milter":
                base, base_cpu, base_busy = rate, cpu, busy
            extra = ""
            if base and name != "no milter":
                diff = sorted(((k, v - base_cpu.get(k, 0.0)) for k, v in cpu.items()),
                              key=lambda kv: -kv[1])
                extra = "  %.0f%% of no milter; CPU +%.0f us/msg (%s)" % (
                    100 * rate / base, busy - base_busy,
                    ", ".join("%s +%.0f" % kv for kv in diff[:4] if kv[1] >= 20))
            print("  %-10s %7.0f msg/s  (%s)  intake %5.0f/s  machine CPU %4.0f us/msg%s" % (
                name, rate, ", ".join("%.0f" % r["e2e_rate"] for r in rs),
                med(r["intake_rate"] for r in rs), busy, extra))

    print()
    print("targets:")

    def target(ok, text):
        print("  %-4s %s" % ("PASS" if ok else "MISS", text))
    n8 = max(session_counts)
    for size in sizes:
        key = (size, n8, "rsa", "vhostmail")
        if key in summary and ceiling.get("rsa"):
            x = summary[key]["rate"] / ceiling["rsa"]
            target(x >= 0.8, "RSA-2048, %s, %d sessions: >= 80%% of openssl's ceiling: %.0f%% "
                   "(%.0f msg/s vs %.0f sign/s)" % (fmt_size(size), n8, 100 * x,
                                                    summary[key]["rate"], ceiling["rsa"]))
        okey = (size, n8, "rsa", "opendkim")
        if key in summary and okey in summary:
            x = summary[key]["rate"] / summary[okey]["rate"]
            target(x >= 1.5, "RSA-2048, %s, %d sessions: >= 1.5x OpenDKIM, same key: x%.2f "
                   "(%.0f vs %.0f msg/s; CPU/msg %.0f vs %.0f us)" % (
                       fmt_size(size), n8, x, summary[key]["rate"], summary[okey]["rate"],
                       summary[key]["cpu"], summary[okey]["cpu"]))
    for size in sizes:
        for n in session_counts:
            key, okey = (size, n, "ed25519", "vhostmail"), (size, n, "ed25519", "opendkim")
            if key in summary and okey in summary:
                x = summary[key]["rate"] / summary[okey]["rate"]
                target(x >= 2.0, "Ed25519, %s, %d session%s: >= 2x OpenDKIM Ed25519: x%.2f "
                       "(%.0f vs %.0f msg/s; CPU/msg %.0f vs %.0f us, x%.2f)" % (
                           fmt_size(size), n, "s" if n > 1 else "", x, summary[key]["rate"],
                           summary[okey]["rate"], summary[key]["cpu"], summary[okey]["cpu"],
                           summary[okey]["cpu"] / summary[key]["cpu"]
                           if summary[key]["cpu"] else 0))
    if e2e_results and "no milter" in e2e_results and "vhostmail" in e2e_results:
        base = med(r["e2e_rate"] for r in e2e_results["no milter"])
        rate = med(r["e2e_rate"] for r in e2e_results["vhostmail"])
        target(rate >= 0.9 * base, "end to end, vhostmail-milter signing Ed25519 >= 90%% of the "
               "same Postfix without a milter: %.0f%% (%.0f vs %.0f msg/s)" % (
                   100 * rate / base, rate, base))
        if "opendkim" in e2e_results:
            od = med(r["e2e_rate"] for r in e2e_results["opendkim"])
            print("  info end to end, OpenDKIM signing Ed25519: %.0f%% of no milter (%.0f msg/s)"
                  % (100 * od / base, od))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; cleaned up", file=sys.stderr)
        sys.exit(130)
