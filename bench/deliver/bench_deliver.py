#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""bench_deliver - durable delivery rates: vhostmail-lmtpd, vhostmail-deliver, Dovecot's
dovecot-lda and LMTP server, end to end through Postfix (lmtpd vs virtual(8)), and the disk's
own ceiling, in one run on the same disk. Not part of the test suite; run as root.

usage: bench_deliver.py --bin BUILD_DIR [--seconds 8] [--clients 4] [--sizes 4096,102400]
                       [--e2e-messages 1000] [--rows all|COLUMN,...]

Everything runs privately (vhm_mariadb, vhm_postfix, a private Dovecot config); mail goes to a
temporary directory under --dir (default /var/tmp, the real disk). Each contender delivers for
--seconds with --clients concurrent clients (LMTP connections / process slots); rate =
messages / wall time. Every contender fsyncs each message (lmtpd/deliver: file + new/;
Dovecot: mail_fsync = always; Postfix virtual(8): fsync of the file).
Ceiling: one loop of create in tmp/, write, fsync, rename to new/, fsync new/.
End to end, the same private Postfix either hands the mail to lmtpd (its tables from lookupd,
as the shipped snippets configure it) or delivers with its own virtual(8), once with inline:
tables (no lookups at all: the fastest Postfix can be) and once with mysql: tables on the same
MariaDB (the glue admins run today).
The vhostmail mailboxes have a quota (maildirsize + usage record) and one has a vacation, so the
checks run on every message.
"""

import argparse
import faulthandler
import multiprocessing
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "integration"))
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402

MAILBOXES = 50


def make_message(size):
    head = "From: <bench@remote.example>\nTo: <u0@bench.example>\nSubject: bench\n\n"
    line = "x" * 76 + "\n"
    body = line * max(1, (size - len(head)) // len(line))
    return head + body


def run_for(seconds, clients, work):
    """Runs work(client_index, stop_event) -> count in threads; returns messages/s."""
    os.sync()  # no write-back left over from the row before
    stop = threading.Event()
    counts = [0] * clients

    def worker(i):
        counts[i] = work(i, stop)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - start)


def ceiling(base, message, seconds):
    d = tempfile.mkdtemp(dir=base)
    for sub in ("tmp", "new", "cur"):
        os.mkdir(os.path.join(d, sub))
    data = message.encode()
    newfd = os.open(os.path.join(d, "new"), os.O_RDONLY | os.O_DIRECTORY)

    def work(i, stop):
        n = 0
        while not stop.is_set():
            name = f"{time.time()}.{i}.{n}"
            tmp = os.path.join(d, "tmp", name)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            os.write(fd, data)
            os.fsync(fd)
            os.close(fd)
            os.rename(tmp, os.path.join(d, "new", name))
            os.fsync(newfd)
            n += 1
        return n
    rate = run_for(seconds, 1, work)
    os.close(newfd)
    shutil.rmtree(d)
    return rate


def lmtp_client(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    f = s.makefile("rb")

    def reply():
        while True:
            ln = f.readline()
            if len(ln) < 4 or ln[3:4] != b"-":
                return ln
    reply()
    s.sendall(b"LHLO bench\r\n")
    reply()
    return s, reply


def lmtp_rate(path, message, seconds, clients, domain):
    wire = message.replace("\n", "\r\n").encode() + b".\r\n"

    def work(i, stop):
        s, reply = lmtp_client(path)
        n = 0
        while not stop.is_set():
            rcpt = f"u{(i * 7 + n) % MAILBOXES}@{domain}"
            s.sendall(b"MAIL FROM:<bench@remote.example>\r\nRCPT TO:<" + rcpt.encode() +
                      b">\r\nDATA\r\n")
            for _ in range(3):
                reply()
            s.sendall(wire)
            r = reply()
            if not r.startswith(b"250"):
                raise RuntimeError(f"LMTP delivery failed: {r!r}")
            n += 1
        s.sendall(b"QUIT\r\n")
        s.close()
        return n
    return run_for(seconds, clients, work)


def process_rate(argv_for, message, seconds, clients, as_nobody=True):
    """Messages/s of a program started once per message, `clients` at a time. Each client is a
    process of its own (no GIL between them) that drops to nobody once and then starts the
    program with posix_spawn/vfork (no preexec_fn, stdin from a file, output discarded), so the
    harness costs well under a millisecond per start, for every contender alike."""
    os.sync()  # no write-back left over from the row before
    nobody = pwd.getpwnam("nobody")
    ctx = multiprocessing.get_context("fork")
    stop = ctx.Event()
    counts = ctx.Array("q", clients)
    errors = ctx.Queue()
    fd, path = tempfile.mkstemp(prefix="vhm-bench-msg-")
    with os.fdopen(fd, "wb") as f:
        f.write(message.encode())

    def worker(i):
        msg = open(path, "rb")  # before the privilege drop
        if as_nobody:
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        n = 0
        while not stop.is_set():
            msg.seek(0)
            argv = argv_for(i, n)
            rc = subprocess.call(argv, stdin=msg, stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            if rc != 0:
                errors.put(f"{argv[0]} exit {rc}")
                break
            n += 1
            counts[i] = n
    procs = [ctx.Process(target=worker, args=(i,)) for i in range(clients)]
    start = time.monotonic()
    for p in procs:
        p.start()
    time.sleep(seconds)
    stop.set()
    for p in procs:
        p.join()
    elapsed = time.monotonic() - start
    os.unlink(path)
    if not errors.empty():
        raise RuntimeError(errors.get())
    return sum(counts) / elapsed


def dovecot_config(tmp, mailbase):
    conf = os.path.join(tmp, "dovecot.conf")
    run = os.path.join(tmp, "dovecot-run")
    os.makedirs(run, exist_ok=True)
    open(os.path.join(tmp, "dovecot.log"), "a").close()
    os.chmod(os.path.join(tmp, "dovecot.log"), 0o666)  # dovecot-lda runs as nobody
    with open(conf, "w") as f:
        f.write(f"""
base_dir = {run}
state_dir = {run}/state
log_path = {tmp}/dovecot.log
protocols = lmtp
ssl = no
mail_fsync = always
mail_location = maildir:{mailbase}/%d/%n
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
first_valid_uid = 1
passdb {{
  driver = static
  args = nopassword=y
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={mailbase}/%d/%n
}}
service lmtp {{
  unix_listener {tmp}/dovecot-lmtp {{
    mode = 0666
  }}
}}
service anvil {{
  chroot =
}}
""")
    return conf


def count_new(maildir):
    d = os.path.join(maildir, "new")
    return len(os.listdir(d)) if os.path.isdir(d) else 0


def wait_count(maildir, want, timeout=120):
    """Waits until maildir/new holds `want` files (one cheap listdir per 0.1 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count_new(maildir) >= want:
            return True
        time.sleep(0.1)
    return False


def cpu_by_program():
    """CPU seconds (user + system) of every running process, summed per program name."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = {}
    for pid in os.listdir("/proc"):
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except (OSError, ValueError):
            continue
        if not pid.isdigit():
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        if name.startswith("kworker/"):  # the name carries the current work item
            name = "kworker"
        fields = stat[stat.rindex(")") + 2:].split()
        total[name] = total.get(name, 0) + (int(fields[11]) + int(fields[12])) / ticks
    return total


def end_to_end(tmp, pf_extra, mailbase, size, count, clients, name):
    """Messages/s from smtp-source into smtpd until all `count` are in the Maildir (new/ holds
    `count` more files than at the start). With VHM_BENCH_SPLIT=1 the two halves are timed
    apart: intake (smtpd + cleanup + lookups, the messages held) and then delivery alone (the
    hold queue released)."""
    already = count_new(mailbase)
    split = bool(os.environ.get("VHM_BENCH_SPLIT"))
    os.sync()  # no write-back left over from the rows before (hundreds of MB at 100 KB)
    master = "virtual   unix  -       n       n       -       -       virtual\n"
    hold = "smtpd_data_restrictions = check_client_access static:HOLD\n" if split else ""
    with vhm_postfix.private_postfix(os.path.join(tmp, name), main_cf_extra=pf_extra +
                                     "in_flow_delay = 0s\n" + hold +
                                     os.environ.get("VHM_BENCH_PF_EXTRA", "").replace(";", "\n"),
                                     master_cf_extra=master) as pf:
        cpu_before = cpu_by_program()
        start = time.monotonic()
        subprocess.run(["smtp-source", "-s", str(clients), "-m", str(count), "-l", str(size),
                        "-f", "bench@remote.example", "-t", "u1@bench.example",
                        f"127.0.0.1:{pf.smtp_port}"], check=True, capture_output=True)
        accepted = time.monotonic() - start
        if split:
            released = time.monotonic()
            for release in (["postsuper", "-c", pf.conf, "-H", "ALL"],  # to deferred/
                            ["postqueue", "-c", pf.conf, "-f"]):
                subprocess.run(release, check=True, capture_output=True)
        ok = wait_count(mailbase, already + count)
        elapsed = time.monotonic() - start
        if os.environ.get("VHM_BENCH_CPU"):
            cpu = cpu_by_program()
            used = {k: v - cpu_before.get(k, 0) for k, v in cpu.items()}
            print(name, "CPU ms per message:", ", ".join(
                f"{k} {1000 * v / count:.2f}" for k, v in
                sorted(used.items(), key=lambda kv: -kv[1]) if v > 0.005))
        if split:
            print(f"{name}: intake {count / accepted:.0f}/s, delivery alone "
                  f"{count / (time.monotonic() - released):.0f}/s")
        if os.environ.get("VHM_BENCH_VERBOSE"):
            print(f"{name}: smtp-source done after {accepted:.2f} s, delivered after {elapsed:.2f} s")
            print("\n".join([ln for ln in pf.log().splitlines() if "relay=" in ln][-3:]))
        if not ok:
            print(pf.log()[-3000:])
            return 0.0
        return count / elapsed


def main():
    if os.environ.get("VHM_BENCH_TRACE"):
        faulthandler.dump_traceback_later(float(os.environ["VHM_BENCH_TRACE"]))
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True, help="build directory (release)")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--sizes", default="4096,102400")
    ap.add_argument("--e2e-messages", type=int, default=1000)
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--rows", default="all",
                    help="comma-separated columns to measure (default: all)")
    a = ap.parse_args()
    wanted = set(a.rows.split(","))

    def want(column):
        return "all" in wanted or column in wanted
    lmtpd = os.path.join(a.bin, "daemons/deliver/vhostmail-lmtpd")
    deliver = os.path.join(a.bin, "daemons/deliver/vhostmail-deliver")
    lookupd = os.path.join(a.bin, "daemons/lookupd/vhostmail-lookupd")
    admin = os.path.join(a.bin, "daemons/admin/vhostmail")
    source = os.path.abspath(os.path.join(here, "..", ".."))
    nobody = pwd.getpwnam("nobody")
    results = []
    with tempfile.TemporaryDirectory(prefix="vhm-bench-deliver-", dir=a.dir) as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        base = vhm_daemon.base_config(db, tmp)
        subprocess.run([admin, "-c", "/dev/null", "-o", f"db_hosts=unix:{db.socket}",
                        "-o", f"db_user={db.user}", "-o", f"db_password={db.password}",
                        "-o", f"db_name={db.database}", "-o",
                        f"admin_migrations_directory={source}/sql/migrations", "db", "migrate"],
                       check=True, capture_output=True)
        quota = "NULL" if os.environ.get("VHM_BENCH_NO_QUOTA") else "1000000000000"
        rows = ",".join(f"(@d, 'u{i}', TRUE, {quota})" for i in range(MAILBOXES))
        db.sql("INSERT INTO domains (name) VALUES ('bench.example');"
               "SET @d = (SELECT id FROM domains WHERE name = 'bench.example');"
               "INSERT INTO addresses (domain_id, local_part, mailbox, quota_bytes) VALUES "
               + rows + ";"
               "INSERT INTO vacations (address_id, subject, body) SELECT id, 'away', 'away'"
               " FROM addresses WHERE local_part = 'u0';")
        sendmail = os.path.join(tmp, "sendmail")
        with open(sendmail, "w") as f:
            f.write("#!/bin/sh\ncat > /dev/null\n")
        os.chmod(sendmail, 0o755)

        def mailbase(name):
            d = os.path.join(tmp, name)
            os.makedirs(d, exist_ok=True)
            os.chown(d, nobody.pw_uid, nobody.pw_gid)
            return d
        sock = os.path.join(tmp, "lmtp.sock")
        cfg = base + os.environ.get("VHM_BENCH_EXTRA_CF", "").replace(";", "\n") + (
                     f"deliver_mail_base = {mailbase('vhm')}\n"
                      f"deliver_sendmail_command = {sendmail}\nlmtpd_listen = unix:{sock}\n")
        # deliver (nobody) may use lmtpd's socket for the deliver-relay column.
        cfg += "lmtpd_socket_mode = 0666\n"
        cfg_file = os.path.join(tmp, "deliver.cf")
        with open(cfg_file, "w") as f:
            f.write(cfg)
        os.chmod(cfg_file, 0o644)
        relay_cfg_file = os.path.join(tmp, "deliver-relay.cf")
        with open(relay_cfg_file, "w") as f:
            f.write(cfg + f"deliver_lmtp_relay = unix:{sock}\n")
        os.chmod(relay_cfg_file, 0o644)
        dconf = dovecot_config(tmp, mailbase("dovecot"))
        # dovecot daemonizes and keeps its stdio: no pipes here, or run() never returns.
        dovecot = subprocess.run(["dovecot", "-c", dconf], stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if dovecot.returncode != 0:
            print("dovecot did not start; see", os.path.join(tmp, "dovecot.log"))
        lda = "/usr/lib/dovecot/dovecot-lda"
        ports = {m: vhm_postfix.free_port() for m in ("domains", "aliases", "mailboxes",
                                                      "senders")}
        lcfg = base + ("lookupd_socketmap_listen = unix:" + tmp + "/lookupd.sock\n"
                       "lookupd_tcp_listen = " +
                       " ".join(f"{m}=127.0.0.1:{p}" for m, p in ports.items()) + "\n")
        try:
            with vhm_daemon.daemon(lmtpd, cfg, tmp, name="lmtpd"), \
                    vhm_daemon.daemon(lookupd, lcfg, tmp, name="lookupd") as lk:
                lk.wait_for_log("routing data loaded")
                for size in [int(s) for s in a.sizes.split(",")]:
                    msg = make_message(size)
                    row = {"size": size}
                    if want("ceiling"):
                        row["ceiling"] = ceiling(tmp, msg, a.seconds)
                    if want("lmtpd"):
                        row["lmtpd"] = lmtp_rate(sock, msg, a.seconds, a.clients,
                                                 "bench.example")
                    print(row, flush=True)
                    for column, config in (("deliver", cfg_file),
                                           ("deliver-relay", relay_cfg_file)):
                        if want(column):
                            row[column] = process_rate(
                                lambda i, n: [deliver, "-c", config, "-f",
                                              "bench@remote.example", "--",
                                              f"u{(i * 7 + n) % MAILBOXES}@bench.example"],
                                msg, a.seconds, a.clients)
                    if os.path.exists(lda) and want("dovecot-lda"):
                        row["dovecot-lda"] = process_rate(
                            lambda i, n: [lda, "-c", dconf, "-d",
                                          f"u{(i * 7 + n) % MAILBOXES}@bench.example"],
                            msg, a.seconds, a.clients)
                    if dovecot.returncode == 0 and want("dovecot-lmtp"):
                        row["dovecot-lmtp"] = lmtp_rate(os.path.join(tmp, "dovecot-lmtp"), msg,
                                                        a.seconds, a.clients, "bench.example")
                    print(row, flush=True)
                    lookup_maps = (open(os.path.join(source, "postfix-snippets",
                                                     "main.cf.lookup")).read())
                    for i, m in enumerate(("domains", "aliases", "mailboxes", "senders")):
                        lookup_maps = lookup_maps.replace(f"tcp:127.0.0.1:{10041 + i}",
                                                          f"tcp:127.0.0.1:{ports[m]}")
                    virtual_agent = (f"virtual_uid_maps = static:{nobody.pw_uid}\n"
                                     f"virtual_gid_maps = static:{nobody.pw_gid}\n"
                                     "virtual_transport = virtual\n")
                    inline_maps = ("virtual_mailbox_domains = bench.example\n"
                                   "virtual_mailbox_maps = inline:{ " +
                                   ", ".join(f"u{i}@bench.example=bench.example/u{i}/"
                                             for i in range(MAILBOXES)) + " }\n")
                    # The glue admins run today: Postfix's own mysql: tables (postfix-mysql).
                    mysql_maps = ""
                    if want("e2e-virtual-mysql"):
                        where = ("FROM addresses a JOIN domains d ON d.id = a.domain_id WHERE "
                                 "a.local_part = '%u' AND d.name = '%d' AND a.enabled AND "
                                 "d.enabled")
                        queries = {
                            "domains": "SELECT 1 FROM domains WHERE name = '%s' AND enabled",
                            "mailboxes": "SELECT CONCAT(d.name, '/', a.local_part, '/') " +
                                         where + " AND a.mailbox",
                            "aliases": "SELECT f.destination FROM forwardings f JOIN addresses a"
                                       " ON a.id = f.address_id JOIN domains d ON"
                                       " d.id = a.domain_id WHERE a.local_part = '%u' AND"
                                       " d.name = '%d' AND a.enabled AND d.enabled"}
                        for m, q in queries.items():
                            with open(os.path.join(tmp, f"mysql-{m}.cf"), "w") as f:
                                f.write(f"hosts = unix:{db.socket}\nuser = {db.user}\n"
                                        f"password = {db.password}\ndbname = {db.database}\n"
                                        f"query = {q}\n")
                        mysql_maps = (f"virtual_mailbox_domains = mysql:{tmp}/mysql-domains.cf\n"
                                      f"virtual_mailbox_maps = mysql:{tmp}/mysql-mailboxes.cf\n"
                                      f"virtual_alias_maps = mysql:{tmp}/mysql-aliases.cf\n")
                    n = a.e2e_messages
                    if want("e2e-lmtpd"):
                        u1 = os.path.join(tmp, "vhm", "bench.example", "u1")
                        row["e2e-lmtpd"] = end_to_end(
                            tmp, lookup_maps + f"virtual_transport = lmtp:unix:{sock}\n", u1,
                            size, n, a.clients, f"pf-l-{size}")
                    for column, maps in (("e2e-virtual", inline_maps),
                                         ("e2e-virtual-mysql", mysql_maps)):
                        if want(column):
                            vbase = mailbase(f"{column}-{size}")
                            row[column] = end_to_end(
                                tmp, maps + virtual_agent + f"virtual_mailbox_base = {vbase}\n",
                                os.path.join(vbase, "bench.example", "u1"), size, n, a.clients,
                                f"pf-{column}-{size}")
                    results.append(row)
                    print(row, flush=True)
        finally:
            if dovecot.returncode == 0:
                subprocess.run(["doveadm", "-c", dconf, "stop"], capture_output=True)
    print("\nmessages/s (each message fsync'ed), clients =", a.clients)
    keys = ["ceiling", "lmtpd", "deliver", "deliver-relay", "dovecot-lmtp", "dovecot-lda", "e2e-lmtpd",
            "e2e-virtual", "e2e-virtual-mysql"]
    keys = [k for k in keys if any(k in r for r in results)]
    widths = [max(14, len(k) + 2) for k in keys]
    print("size     " + "".join(f"{k:>{w}}" for k, w in zip(keys, widths)))
    for r in results:
        print(f"{r['size']:<9}" + "".join(f"{r.get(k, 0):>{w}.0f}" for k, w in zip(keys, widths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
