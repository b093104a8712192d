#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Reliability: a soak of lookupd, policyd, authd, lmtpd and the milter with many concurrent
clients, then lookupd with a crowd of idle Postfix-style connections.

usage: run_soak_test.py LOOKUPD POLICYD AUTHD LMTPD MILTER ADMIN SOURCE_DIR

Every daemon gets CONNECTIONS clients at once (loopback and unix sockets only), each asking
over and over for SECONDS with the benches' kind of requests: socketmap lookups of mailboxes,
aliases and domains, found and not; policy requests at RCPT; Dovecot-protocol PLAIN logins
(right password, authd's cache on); LMTP deliveries of a small message (with a pause between
messages, so the Maildir does not grow without bound); milter sessions as Postfix's smtpd opens
them after SMTP AUTH, each message signed with DKIM (an RSA key). Then:
  - no error: every answer is one of the expected ones, no connection is dropped;
  - resident memory, open descriptors and threads (from each daemon's own metrics) flat
    between the start and the end of the run (the end taken when the last requests are
    answered and the connections still open, so nothing in flight counts) (RSS only without
    ASan, whose allocator caches grow for a while; there LeakSanitizer checks for leaks at
    exit);
  - the 99th percentile latency of the second half no worse than three times the first's
    (plus 20 ms).
Last, IDLE connections to lookupd that never ask anything, then normal lookups beside them:
they are all answered.

CI runs a short version (the defaults below). The full one, release build:
    VHM_SOAK_CONNECTIONS=500 VHM_SOAK_SECONDS=600 VHM_SOAK_IDLE=1000 \\
        python3 tests/reliability/run_soak_test.py build/release/daemons/lookupd/... (see
        tests/reliability/README.md)
"""

import asyncio
import base64
import os
import struct
import pwd
import resource
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration",
                                "milter"))
import milter_keys  # noqa: E402
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_metrics  # noqa: E402
import vhm_postfix  # noqa: E402
import vhm_sasl  # noqa: E402
from vhm_check import check, verdict  # noqa: E402

CONNECTIONS = int(os.environ.get("VHM_SOAK_CONNECTIONS", "40"))
SECONDS = float(os.environ.get("VHM_SOAK_SECONDS", "20"))
IDLE = int(os.environ.get("VHM_SOAK_IDLE", "300"))
LMTP_PAUSE = float(os.environ.get("VHM_SOAK_LMTP_PAUSE", "1.0"))
PASSWORD = "secret"  # sql/fixtures/spec-example.sql

LOOKUPS = [("mailboxes", "xandros@blobber.org", "OK"), ("mailboxes", "nobody@blobber.org",
                                                         "NOTFOUND"),
           ("aliases", "john@whopper.nu", "OK"), ("domains", "blobber.org", "OK"),
           ("domains", "example.com", "NOTFOUND"), ("senders", "vivita@blobber.org", "OK")]


# Clients keep their connections open after the run until this is set, so the end figures are
# taken with every connection still there and nothing in flight (deliveries, milter sessions).
HOLD = None


async def held():
    if HOLD is not None:
        await HOLD.wait()


class stats:
    def __init__(self, name):
        self.name = name
        self.latencies = []  # (time since start, seconds)
        self.errors = []
        self.requests = 0

    def took(self, t0, started):
        self.latencies.append((t0 - started, time.monotonic() - t0))
        self.requests += 1

    def error(self, what):
        if len(self.errors) < 20:
            self.errors.append(what)
        else:
            self.errors[-1] = f"... and more ({what})"


def netstring(b):
    return str(len(b)).encode() + b":" + b + b","


async def read_netstring(r):
    head = await r.readuntil(b":")
    n = int(head[:-1])
    body = await r.readexactly(n + 1)
    return body[:-1]


async def lookupd_client(path, st, until, started, i):
    r, w = await asyncio.open_unix_connection(path)
    k = i
    while time.monotonic() < until:
        m, key, want = LOOKUPS[k % len(LOOKUPS)]
        k += 1
        t0 = time.monotonic()
        w.write(netstring(f"{m} {key}".encode()))
        await w.drain()
        reply = (await read_netstring(r)).decode()
        st.took(t0, started)
        if not reply.startswith(want):
            st.error(f"{m} {key}: {reply}")
    await held()
    w.close()


async def policyd_client(path, st, until, started, i):
    r, w = await asyncio.open_unix_connection(path)
    n = 0
    while time.monotonic() < until:
        n += 1
        rcpt, want = (("xandros@blobber.org", "DUNNO") if n % 2 else
                      ("vivita@blobber.org", "DUNNO"))
        req = ("request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
               "client_address=192.0.2.10\nclient_name=mx.example.net\n"
               f"sender=someone@remote.example\nrecipient={rcpt}\ninstance=s{i}.{n}\n"
               "size=0\nsasl_username=\n\n")
        t0 = time.monotonic()
        w.write(req.encode())
        await w.drain()
        reply = (await r.readuntil(b"\n\n")).decode().strip()
        st.took(t0, started)
        if reply != f"action={want}":
            st.error(f"{rcpt}: {reply}")
    await held()
    w.close()


async def authd_client(path, st, until, started, i):
    r, w = await asyncio.open_unix_connection(path)
    w.write(b"VERSION\t1\t0\nCPID\t%d\n" % (1000 + i))
    while (await r.readline()).strip() != b"DONE":
        pass
    blob = base64.b64encode(f"\0xandros@blobber.org\0{PASSWORD}".encode()).decode()
    rid = 0
    while time.monotonic() < until:
        rid += 1
        t0 = time.monotonic()
        w.write(f"AUTH\t{rid}\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.1"
                f"\tsecured\tresp={blob}\n".encode())
        await w.drain()
        reply = (await r.readline()).decode()
        st.took(t0, started)
        if not reply.startswith(f"OK\t{rid}\t"):
            st.error(f"auth: {reply.strip()}")
    await held()
    w.close()


async def lmtp_reply(r):
    lines = []
    while True:
        ln = (await r.readline()).decode()
        if not ln:
            raise ConnectionError("lmtpd closed the connection")
        lines.append(ln.rstrip("\r\n"))
        if len(ln) < 4 or ln[3] != "-":
            return lines


async def lmtpd_client(path, st, until, started, i):
    r, w = await asyncio.open_unix_connection(path)
    await lmtp_reply(r)
    w.write(b"LHLO soak\r\n")
    await lmtp_reply(r)
    n = 0
    while time.monotonic() < until:
        n += 1
        t0 = time.monotonic()
        w.write(b"MAIL FROM:<someone@remote.example>\r\nRCPT TO:<xandros@blobber.org>\r\n"
                b"DATA\r\n")
        await w.drain()
        codes = [(await lmtp_reply(r))[-1][:3] for _ in range(3)]
        w.write(f"Subject: soak\r\nMessage-ID: <soak.{i}.{n}@test>\r\n\r\nhello\r\n.\r\n"
                .encode())
        await w.drain()
        codes.append((await lmtp_reply(r))[-1][:3])
        st.took(t0, started)
        if codes != ["250", "250", "354", "250"]:
            st.error(f"lmtp: {codes}")
        await asyncio.sleep(LMTP_PAUSE)
    await held()
    w.write(b"QUIT\r\n")
    w.close()


# The MTA side of the milter protocol (libmilter's mfdef.h), as much as a signing session needs:
# a packet is a 32-bit length in network order, a command byte, then length - 1 bytes.
SMFIP_NO = {b"M": 0x4, b"R": 0x8, b"L": 0x20, b"N": 0x40, b"B": 0x10}  # NOMAIL, NORCPT, ...
SMFIP_NR = {b"M": 0x4000, b"R": 0x8000, b"L": 0x80, b"N": 0x40000, b"B": 0x80000}
SMFIP_HDR_LEADSPC = 0x100000


async def milter_packet(r):
    (length,) = struct.unpack("!I", await r.readexactly(4))
    data = await r.readexactly(length)
    return data[:1], data[1:]


async def milter_client(path, st, until, started, i):
    r, w = await asyncio.open_unix_connection(path)

    def send(command, data=b""):
        w.write(struct.pack("!I", len(data) + 1) + command + data)

    send(b"O", struct.pack("!III", 6, 0x1FF, 0x1FFFFF))
    command, data = await milter_packet(r)
    if command != b"O":
        raise ValueError(f"negotiation answered with {command!r}")
    steps = struct.unpack("!III", data[:12])[2]
    send(b"C", b"client.example.net\x00" + b"4" + struct.pack("!H", 41234) + b"192.0.2.10\x00")

    async def step(command, data):
        """Sends one step unless the milter asked not to get it; its reply unless the milter
        said it would not send one (skipping progress packets); None when nothing came."""
        if steps & SMFIP_NO.get(command, 0):
            return None
        send(command, data)
        await w.drain()
        if command != b"C" and steps & SMFIP_NR.get(command, 0):
            return None
        while True:
            reply = await milter_packet(r)
            if reply[0] != b"p":
                return reply

    if steps & 0x1000 == 0:  # NR_CONN not set: the connect step is answered
        await w.drain()
        await milter_packet(r)
    lead = b" " if steps & SMFIP_HDR_LEADSPC else b""
    n = 0
    while time.monotonic() < until:
        n += 1
        t0 = time.monotonic()
        send(b"D", b"M" + b"i\x00Q%d%d\x00{auth_type}\x00PLAIN\x00{auth_authen}\x00"
             b"xandros@blobber.org\x00{mail_addr}\x00xandros@blobber.org\x00" % (i, n))
        replies = [await step(b"M", b"<xandros@blobber.org>\x00"),
                   await step(b"R", b"<friend@example.net>\x00")]
        for name, value in ((b"From", b"<xandros@blobber.org>"), (b"To", b"<friend@example.net>"),
                            (b"Subject", b"soak"), (b"Message-ID", b"<soak.%d.%d@test>" % (i, n))):
            replies.append(await step(b"L", name + b"\x00" + lead + value + b"\x00"))
        replies.append(await step(b"N", b""))
        replies.append(await step(b"B", b"hello\r\n"))
        early = [rp for rp in replies if rp is not None and rp[0] != b"c"]
        if early:
            st.error(f"milter answered {early[0][0]!r} {early[0][1][:80]!r} before the end")
            break
        send(b"E")
        await w.drain()
        signed = False
        while True:
            command, data = await milter_packet(r)
            if command in (b"h", b"i"):
                signed = signed or b"DKIM-Signature\x00" in data
            elif command != b"p":
                break
        st.took(t0, started)
        if command not in (b"a", b"c") or not signed:
            st.error(f"milter: end of message answered {command!r} {data[:80]!r},"
                     f" signed: {signed}")
    await held()
    send(b"Q")
    w.close()


async def guarded(fn, st, *args):
    try:
        await fn(*args)
    except (OSError, asyncio.IncompleteReadError, ConnectionError, ValueError) as e:
        st.error(f"{type(e).__name__}: {e}")


def process_figures(endpoint):
    s = vhm_metrics.scrape(endpoint)
    return {k: vhm_metrics.value(s, k) for k in
            ("process_resident_memory_bytes", "process_open_fds", "process_threads")}


async def soak(daemons):
    """daemons: [(name, client fn, socket path, metrics endpoint)]"""
    global HOLD
    HOLD = asyncio.Event()
    started = time.monotonic()
    until = started + SECONDS
    all_stats = {name: stats(name) for name, *_ in daemons}
    tasks = []
    for name, fn, path, _ in daemons:
        for i in range(CONNECTIONS):
            tasks.append(asyncio.create_task(guarded(fn, all_stats[name], path, all_stats[name],
                                                     until, started, i)))
    await asyncio.sleep(min(3.0, SECONDS / 4))  # every client connected and warmed up
    loop = asyncio.get_running_loop()
    first = {name: await loop.run_in_executor(None, process_figures, ep)
             for name, _, _, ep in daemons}
    # The end figures: every client has sent its last request and had it answered (the slowest
    # answers took about a second under full load), its connection still open.
    await asyncio.sleep(max(0.0, until - time.monotonic() + 5.0))
    last = {name: await loop.run_in_executor(None, process_figures, ep)
            for name, _, _, ep in daemons}
    HOLD.set()
    await asyncio.gather(*tasks)
    HOLD = None
    return all_stats, first, last


def p99(values):
    if len(values) < 2:
        return 0.0
    return statistics.quantiles(values, n=100)[98]


def sanitized(binary):
    """Whether binary is an ASan build: its allocator keeps caches that grow RSS for a while,
    so there LeakSanitizer's report at exit stands in for the RSS check."""
    r = subprocess.run(["ldd", binary], capture_output=True, text=True)
    return "libasan" in r.stdout


def report(all_stats, first, last, rss_checked):
    print(f"\nsoak: {CONNECTIONS} connections per daemon for {SECONDS:.0f} s")
    print(f"{'daemon':8} {'requests':>9} {'req/s':>7} {'p99 1st':>8} {'p99 2nd':>8} "
          f"{'RSS MB start/end':>17} {'fds start/end':>14} {'threads':>12} errors")
    for name, st in all_stats.items():
        half = SECONDS / 2
        a = [lat for t, lat in st.latencies if t < half]
        b = [lat for t, lat in st.latencies if t >= half]
        f, l = first[name], last[name]
        rss = (f["process_resident_memory_bytes"] / 2**20, l["process_resident_memory_bytes"] / 2**20)
        print(f"{name:8} {st.requests:9d} {st.requests / SECONDS:7.0f} {p99(a) * 1000:7.1f}ms "
              f"{p99(b) * 1000:7.1f}ms {rss[0]:8.1f}/{rss[1]:<8.1f} "
              f"{f['process_open_fds']:6.0f}/{l['process_open_fds']:<7.0f} "
              f"{f['process_threads']:5.0f}/{l['process_threads']:<6.0f} {len(st.errors)}")
        check(f"{name}: no errors", st.errors, [])
        check(f"{name}: requests answered", st.requests > CONNECTIONS, True)
        if rss_checked:
            check(f"{name}: RSS flat (end <= start x 1.1 + 2 MB)", rss[1] <= rss[0] * 1.1 + 2,
                  True)
        check(f"{name}: descriptors flat",
              l["process_open_fds"] <= f["process_open_fds"] + 10, True)
        check(f"{name}: threads flat", l["process_threads"] <= f["process_threads"] + 10, True)
        check(f"{name}: p99 of the second half <= 3 x the first's + 20 ms",
              p99(b) <= 3 * p99(a) + 0.020, True)


async def idle_crowd(socket_path, endpoint):
    """IDLE silent connections to lookupd, then lookups beside them."""
    idle = []
    for _ in range(IDLE):
        idle.append(await asyncio.open_unix_connection(socket_path))
    await asyncio.sleep(1)
    st = stats("lookupd idle crowd")
    started = time.monotonic()
    until = started + 5
    await asyncio.gather(*[guarded(lookupd_client, st, socket_path, st, until, started, i)
                           for i in range(5)])
    figures = await asyncio.get_running_loop().run_in_executor(None, process_figures, endpoint)
    print(f"\nidle crowd: {IDLE} silent connections; 5 clients beside them: {st.requests} lookups"
          f" in 5 s, p99 {p99([lat for _, lat in st.latencies]) * 1000:.1f} ms, lookupd has "
          f"{figures['process_open_fds']:.0f} descriptors, {figures['process_threads']:.0f} "
          "threads")
    check("idle crowd: lookups beside it answered, no error", (st.errors, st.requests > 50),
          ([], True))
    for _, w in idle:
        w.close()


def main():
    lookupd, policyd, authd, lmtpd, milter, admin, source = sys.argv[1:8]
    vhm_mariadb.skip_unless_available()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < 5 * CONNECTIONS + IDLE + 200:
        print(f"open files limit {hard} too low for this soak")
        return 77
    with tempfile.TemporaryDirectory(prefix="vhm-soak-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        base = vhm_daemon.base_config(db, tmp) + "db_pool_size = 8\n"
        vhm_daemon.spec_database(admin, db, source)
        mailbase = vhm_daemon.mail_base(tmp)
        nobody = pwd.getpwnam("nobody")
        os.chown(tmp, nobody.pw_uid, nobody.pw_gid)
        port = {d: vhm_postfix.free_port()
                for d in ("lookupd", "policyd", "authd", "lmtpd", "milter")}
        for args in (("dkim", "keygen", "blobber.org", "--selector", "r1"),
                     ("dkim", "activate", "blobber.org", "r1")):
            r = milter_keys.admin(admin, db, tmp, *args)
            check(" ".join(args), (r.returncode, r.stderr.strip()), (0, ""))
        clients = max(CONNECTIONS, IDLE) + 50

        def common(prefix):
            return (f"{prefix}_socket_group =\n{prefix}_socket_mode = 0666\n"
                    f"{prefix}_max_clients = {clients}\n"
                    f"{prefix}_metrics_listen = 127.0.0.1:{port[prefix]}\n")

        # The cached login expires every few seconds: each time, every client logs in again at
        # once (the full soak found authd refusing such a crowd by its own in-flight count).
        configs = {
            "lookupd": base + common("lookupd") +
            f"lookupd_socketmap_listen = unix:{tmp}/lookupd.sock\nlookupd_tcp_listen =\n",
            "policyd": base + common("policyd") + f"policyd_mx_listen = unix:{tmp}/policy\n"
            "policyd_submission_listen =\n"
            "policyd_mx_checks = hosted_sender recipient\n",
            "authd": base + common("authd") + f"authd_dovecot_listen = unix:{tmp}/auth\n"
            "authd_allow_cleartext = yes\nauthd_hash_rounds = 5000\nauthd_cache_ttl = 3s\n",
            "lmtpd": base + common("lmtpd") +
            vhm_daemon.delivery_config(mailbase, "/bin/true", f"{tmp}/lmtp.sock"),
            "milter": base + common("milter") + f"milter_listen = unix:{tmp}/milter\n",
        }
        binaries = {"lookupd": lookupd, "policyd": policyd, "authd": authd, "lmtpd": lmtpd,
                    "milter": milter}
        running = [vhm_daemon.daemon(binaries[n], configs[n], tmp, name=n) for n in binaries]
        # ASan keeps freed memory in quarantine (256 MB by default), which would read as growth
        # of the daemons' RSS: off in the sanitizer builds, for the daemons only.
        saved = os.environ.get("ASAN_OPTIONS")
        os.environ["ASAN_OPTIONS"] = (saved + ":" if saved else "") + "quarantine_size_mb=0"
        try:
            for d in running:
                d.start()
        finally:
            if saved is None:
                del os.environ["ASAN_OPTIONS"]
            else:
                os.environ["ASAN_OPTIONS"] = saved
        try:
            for d in running:
                if d.name in ("lookupd", "policyd", "milter"):
                    d.wait_for_log("routing data loaded")
            ep = {n: f"127.0.0.1:{port[n]}" for n in binaries}
            # One login first, so the soak's logins are answered from authd's cache as a busy
            # user's are: the throttle counts logins in flight against a password not yet
            # verified, and a crowd of first logins at once looks like guessing to it.
            c = vhm_sasl.dovecot_client(f"{tmp}/auth")
            check("authd: the first login", c.plain(1, "xandros@blobber.org", PASSWORD)[:3],
                  "OK\t")
            c.close()
            daemons = [("lookupd", lookupd_client, f"{tmp}/lookupd.sock", ep["lookupd"]),
                       ("policyd", policyd_client, f"{tmp}/policy", ep["policyd"]),
                       ("authd", authd_client, f"{tmp}/auth", ep["authd"]),
                       ("lmtpd", lmtpd_client, f"{tmp}/lmtp.sock", ep["lmtpd"]),
                       ("milter", milter_client, f"{tmp}/milter", ep["milter"])]
            rss_checked = not sanitized(lookupd)
            if not rss_checked:
                print("ASan build: RSS is not checked (LeakSanitizer checks leaks at exit)")
            report(*asyncio.run(soak(daemons)), rss_checked)
            asyncio.run(idle_crowd(f"{tmp}/lookupd.sock", ep["lookupd"]))
            for d in running:
                check(f"{d.name}: clean exit after the soak", d.terminate(timeout=60), 0)
                check(f"{d.name}: no sanitizer report",
                      "ERROR: " in d.log() or "runtime error" in d.log(), False)
        finally:
            for d in running:
                d.kill()
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
