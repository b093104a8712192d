#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of every daemon's metrics listener (<daemon>_metrics_listen), with a real
MariaDB and Prometheus's own linter.

usage: run_metrics_test.py LOOKUPD POLICYD AUTHD LMTPD MILTER ADMIN SOURCE_DIR

Covers: each daemon serves GET /metrics (TCP on loopback and unix sockets) and `promtool check
metrics` passes on what it serves; requests counted by kind and result (lookupd by map,
policyd by check, authd by mechanism, lmtpd by recipient) after real requests; the routing
copy's gauges; HEAD, 404, 405, 400, 431 and a client that sends nothing; a metrics listener
that is not loopback refused by `-t` (78); a database outage seen as vhostmail_database_up 0,
an outage counted, temporary failures counted, and recovery; `vhostmail status` (table and
--json) with everything up (exit 0), during the outage and with a daemon killed (exit 1).
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vhm_clients  # noqa: E402
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_metrics  # noqa: E402
import vhm_postfix  # noqa: E402
import vhm_sasl  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

PASSWORD = "secret"  # sql/fixtures/spec-example.sql


def socketmap(path, m, key):
    """The reply of one socketmap(5) request to lookupd, as text ("OK value", "NOTFOUND ")."""
    req = f"{m} {key}".encode()
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(10)
        s.connect(path)
        s.sendall(str(len(req)).encode() + b":" + req + b",")
        data = b""
        while not data.endswith(b","):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    return data.partition(b":")[2][:-1].decode()


def lint(name, endpoint):
    """Scrapes endpoint, checks the HTTP answer and promtool; the samples."""
    status, head, body = vhm_metrics.get(endpoint)
    check(f"{name}: GET /metrics answers 200", status, 200)
    check(f"{name}: text format 0.0.4",
          "Content-Type: text/plain; version=0.0.4; charset=utf-8" in head, True)
    check(f"{name}: promtool check metrics", vhm_metrics.promtool(body), None)
    samples = vhm_metrics.parse(body)
    check(f"{name}: vhostmail_build_info",
          sum(1 for (n, _) in samples if n == "vhostmail_build_info"), 1)
    check(f"{name}: process_open_fds > 0",
          (vhm_metrics.value(samples, "process_open_fds") or 0) > 0, True)
    return samples


def http_protocol(endpoint):
    status, head, body = vhm_metrics.get(endpoint, method="HEAD")
    check("HEAD /metrics: 200 without a body", (status, body), (200, ""))
    check("HEAD /metrics: the GET's Content-Length", "Content-Length: 0" in head, False)
    check("GET /metrics?name=x: the query is ignored", vhm_metrics.get(endpoint, "/metrics?x=1")[0],
          200)
    check("GET /: 404", vhm_metrics.get(endpoint, "/")[0], 404)
    status, head, _ = vhm_metrics.get(endpoint, method="POST")
    check("POST /metrics: 405 with Allow", (status, "Allow: GET, HEAD" in head), (405, True))
    check("garbage: 400", vhm_metrics.http(endpoint, "hello\r\n\r\n")[0], 400)
    check("HTTP/1.1 without Host: 400",
          vhm_metrics.http(endpoint, "GET /metrics HTTP/1.1\r\n\r\n")[0], 400)
    big = "GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + "a" * 9000 + "\r\n\r\n"
    check("a head over 8 KiB: 431", vhm_metrics.http(endpoint, big)[0], 431)
    # Clients that connect and send nothing hold no slot a scraper needs (the server closes
    # the one idle longest to make room), and are closed at the scrape deadline (5 s).
    idle = [vhm_metrics.connect(endpoint, timeout=15) for _ in range(6)]
    time.sleep(0.3)
    started = time.monotonic()
    check("a scrape while silent clients hold every slot", vhm_metrics.get(endpoint)[0], 200)
    check("...answered at once", time.monotonic() - started < 2, True)
    for s in idle:
        try:
            s.recv(100)
        except OSError:
            pass
        s.close()
    check("silent clients closed within the scrape deadline",
          time.monotonic() - started < 8, True)


def refused_config(lookupd, tmp):
    conf = os.path.join(tmp, "refused.cf")
    with open(conf, "w") as f:
        f.write("lookupd_socketmap_listen = unix:/nonexistent/x\n"
                "lookupd_metrics_listen = 0.0.0.0:9154\n")
    r = subprocess.run([lookupd, "-c", conf, "-t"], capture_output=True, text=True)
    check("-t: a metrics listener on every address is refused (78)", r.returncode, 78)
    check("-t: the refusal names the parameter",
          "lookupd_metrics_listen" in r.stderr and "loopback" in r.stderr, True)


def status(admin, conf, *args):
    """(exit code, stdout) of `vhostmail -c conf [--json] status`."""
    r = subprocess.run([admin, "-c", conf, *args, "status"], capture_output=True, text=True)
    return r.returncode, r.stdout + r.stderr


def status_checks(admin, conf):
    code, out = status(admin, conf)
    print(out)
    check("status: all up, exit 0", code, 0)
    lines = {ln.split()[0]: ln.split() for ln in out.splitlines() if ln}
    for d in ("lookupd", "policyd", "authd", "lmtpd", "milter"):
        check(f"status: {d} up", lines.get(d, ["", ""])[1], "up")
    code, out = status(admin, conf, "--json")
    doc = json.loads(out)
    check("status --json: ok", (code, doc["ok"]), (0, True))
    by_name = {d["daemon"]: d for d in doc["daemons"]}
    check("status --json: lookupd's version", by_name["lookupd"]["version"], "0.1.0")
    check("status --json: lookupd reaches the database", by_name["lookupd"]["database_up"], True)
    check("status --json: lookupd's uptime in seconds",
          0 <= by_name["lookupd"]["uptime_seconds"] < 600, True)
    check("status --json: authd counted its two logins",
          by_name["authd"]["recent_requests"], 2)


def lookupd_checks(db, lk, sock, endpoint, admin, conf):
    for key in ("xandros@blobber.org", "vivita@blobber.org"):
        check(f"socketmap mailboxes {key}", socketmap(sock, "mailboxes", key).startswith("OK "),
              True)
    check("socketmap mailboxes nobody@blobber.org", socketmap(sock, "mailboxes",
                                                              "nobody@blobber.org"), "NOTFOUND ")
    s = lint("lookupd", endpoint)
    check("lookupd: mailboxes found counted",
          vhm_metrics.value(s, "vhostmail_requests_total", map="mailboxes", result="found"), 2.0)
    check("lookupd: mailboxes notfound counted",
          vhm_metrics.value(s, "vhostmail_requests_total", map="mailboxes", result="notfound"),
          1.0)
    check("lookupd: latency observed for mailboxes",
          vhm_metrics.value(s, "vhostmail_request_duration_seconds_count", map="mailboxes"), 3.0)
    check("lookupd: recent requests", vhm_metrics.value(s, "vhostmail_recent_requests"), 3.0)
    check("lookupd: routing domains", (vhm_metrics.value(s, "vhostmail_routing_domains") or 0) >= 4,
          True)
    check("lookupd: routing age under a second",
          (vhm_metrics.value(s, "vhostmail_routing_age_seconds") or 99) < 1.5, True)
    check("lookupd: database up", vhm_metrics.value(s, "vhostmail_database_up"), 1.0)
    check("lookupd: a load counted",
          (vhm_metrics.value(s, "vhostmail_routing_refreshes_total", result="loaded") or 0) >= 1,
          True)

    # The database dies: lookups turn temporary, the outage shows, and ends.
    db.kill()
    down = vhm_daemon.wait_for(
        lambda: vhm_metrics.value(vhm_metrics.scrape(endpoint), "vhostmail_database_up") == 0,
        timeout=20)
    check("lookupd: database_up 0 during the outage", down, True)
    time.sleep(1.5)  # past lookupd_max_staleness
    check("socketmap during the outage: TEMP",
          socketmap(sock, "mailboxes", "xandros@blobber.org").startswith("TEMP "), True)
    s = vhm_metrics.scrape(endpoint)
    check("lookupd: one outage counted", vhm_metrics.value(s, "vhostmail_database_outages_total"),
          1.0)
    check("lookupd: the temporary failure counted",
          vhm_metrics.value(s, "vhostmail_requests_total", map="mailboxes", result="tempfail"),
          1.0)
    check("lookupd: recent failures", vhm_metrics.value(s, "vhostmail_recent_request_failures"),
          1.0)
    print("database errors by class:", {dict(ls)["class"]: v for (n, ls), v in s.items()
                                        if n == "vhostmail_db_errors_total"})
    check("lookupd: database errors counted as unreachable",
          (vhm_metrics.value(s, "vhostmail_db_errors_total", **{"class": "unreachable"}) or 0)
          >= 1, True)
    check("lookupd: failed polls counted",
          (vhm_metrics.value(s, "vhostmail_routing_refreshes_total", result="failed") or 0) >= 1,
          True)
    code, out = status(admin, conf)
    print(out)
    check("status during the outage: exit 1", code, 1)
    check("status during the outage: lookupd says it cannot reach the database",
          "lookupd: cannot reach the database" in out, True)
    check("status during the outage: lookupd's routing data too old",
          "lookupd: routing data" in out and "lookupd_max_staleness" in out, True)
    db.start()
    up = vhm_daemon.wait_for(
        lambda: vhm_metrics.value(vhm_metrics.scrape(endpoint), "vhostmail_database_up") == 1,
        timeout=60)
    check("lookupd: database_up 1 again", up, True)
    lk.wait_for_log("database available again")


def policyd_checks(tmp, endpoint):
    c = vhm_clients.policy_client(f"{tmp}/p-mx", defaults={"sender": "someone@remote.example"})
    check("policyd: mail from outside passes", c.ask(recipient="xandros@blobber.org"), "DUNNO")
    forged = c.ask(sender="vivita@blobber.org", recipient="xandros@blobber.org")
    check("policyd: a hosted sender from outside is rejected", forged.startswith("REJECT"), True)
    c.close()
    s = lint("policyd", endpoint)
    check("policyd: the rejection counted under its check",
          vhm_metrics.value(s, "vhostmail_requests_total", check="hosted_sender",
                            result="reject"), 1.0)
    check("policyd: the pass counted under none",
          vhm_metrics.value(s, "vhostmail_requests_total", check="none", result="dunno"), 1.0)
    check("policyd: two decisions counted", vhm_metrics.total(s, "vhostmail_requests_total"), 2.0)
    check("policyd: pool gauges present, nobody waiting",
          (vhm_metrics.value(s, "vhostmail_db_pool_connections") is not None,
           vhm_metrics.value(s, "vhostmail_db_pool_waiting")), (True, 0.0))


def authd_checks(tmp, endpoint):
    c = vhm_sasl.dovecot_client(f"{tmp}/auth")
    ok = c.plain(1, "xandros@blobber.org", PASSWORD)
    bad = c.plain(2, "xandros@blobber.org", "wrong")
    c.close()
    check("authd: right password OK", ok.startswith("OK"), True)
    check("authd: wrong password FAIL", bad.startswith("FAIL"), True)
    s = lint("authd", endpoint)
    check("authd: PLAIN ok counted",
          vhm_metrics.value(s, "vhostmail_requests_total", mechanism="PLAIN", result="ok"), 1.0)
    check("authd: PLAIN failed counted",
          vhm_metrics.value(s, "vhostmail_requests_total", mechanism="PLAIN", result="failed"),
          1.0)
    check("authd: database up", vhm_metrics.value(s, "vhostmail_database_up"), 1.0)


def lmtpd_checks(tmp, endpoint):
    s, reply = vhm_clients.lmtp_session(f"{tmp}/lmtp.sock")
    reply()
    body = "Subject: metrics\r\nMessage-ID: <m1@test>\r\n\r\nhello\r\n"
    s.sendall(b"LHLO client\r\nMAIL FROM:<someone@remote.example>\r\n"
              b"RCPT TO:<xandros@blobber.org>\r\nDATA\r\n")
    for _ in range(4):
        reply()
    s.sendall(body.encode() + b".\r\n")
    delivered = reply()
    s.sendall(b"QUIT\r\n")
    s.close()
    check("lmtpd: delivered", delivered[-1].startswith("250"), True)
    m = lint("lmtpd", endpoint)
    check("lmtpd: the delivery counted",
          vhm_metrics.value(m, "vhostmail_requests_total", stage="recipient", result="delivered"),
          1.0)
    check("lmtpd: its bytes counted",
          (vhm_metrics.value(m, "vhostmail_delivered_bytes_total") or 0) > 0, True)
    check("lmtpd: the message file's fsync timed",
          vhm_metrics.value(m, "vhostmail_fsync_duration_seconds_count", kind="file"), 1.0)
    check("lmtpd: new/'s fsync timed",
          vhm_metrics.value(m, "vhostmail_fsync_duration_seconds_count", kind="directory"), 1.0)
    check("lmtpd: vacation replies counted (none)",
          vhm_metrics.value(m, "vhostmail_vacation_replies_total"), 0.0)


def main():
    lookupd, policyd, authd, lmtpd, milter, admin, source = sys.argv[1:8]
    vhm_mariadb.skip_unless_available()
    if vhm_metrics.promtool_missing():
        print(vhm_metrics.promtool_missing())
        return 77
    with tempfile.TemporaryDirectory(prefix="vhm-metrics-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        refused_config(lookupd, tmp)
        base = vhm_daemon.base_config(db, tmp) + "lookupd_max_staleness = 1s\n"
        vhm_daemon.spec_database(admin, db, source)
        ports = {d: vhm_postfix.free_port() for d in ("lookupd", "authd", "lmtpd")}
        mailbase = vhm_daemon.mail_base(tmp)
        lookupd_cf = (base + f"lookupd_socketmap_listen = unix:{tmp}/lookupd.sock\n"
                      "lookupd_tcp_listen =\n"
                      "lookupd_socket_group =\nlookupd_socket_mode = 0666\n"
                      "lookupd_refresh_interval = 200ms\n"
                      f"lookupd_metrics_listen = 127.0.0.1:{ports['lookupd']}\n")
        policyd_cf = (base + f"policyd_mx_listen = unix:{tmp}/p-mx\npolicyd_submission_listen =\n"
                      "policyd_socket_group =\npolicyd_socket_mode = 0666\n"
                      "policyd_mx_checks = hosted_sender recipient\n"
                      f"policyd_metrics_listen = unix:{tmp}/policyd-metrics\n")
        authd_cf = (base + f"authd_dovecot_listen = unix:{tmp}/auth\n"
                    "authd_socket_group =\nauthd_socket_mode = 0666\n"
                    "authd_allow_cleartext = yes\nauthd_hash_rounds = 5000\n"
                    f"authd_metrics_listen = [::1]:{ports['authd']}\n"
                    if socket.has_ipv6 and _ipv6_loopback() else
                    base + f"authd_dovecot_listen = unix:{tmp}/auth\n"
                    "authd_socket_group =\nauthd_socket_mode = 0666\n"
                    "authd_allow_cleartext = yes\nauthd_hash_rounds = 5000\n"
                    f"authd_metrics_listen = 127.0.0.1:{ports['authd']}\n")
        lmtpd_cf = (base + vhm_daemon.delivery_config(mailbase, "/bin/true", f"{tmp}/lmtp.sock") +
                    "lmtpd_socket_group =\nlmtpd_socket_mode = 0666\n"
                    f"lmtpd_metrics_listen = 127.0.0.1:{ports['lmtpd']}\n")
        milter_cf = (base + f"milter_listen = unix:{tmp}/milter\n"
                     "milter_socket_group =\nmilter_socket_mode = 0666\n"
                     f"milter_metrics_listen = unix:{tmp}/milter-metrics\n")
        authd_endpoint = next(line.split(" = ", 1)[1] for line in authd_cf.splitlines()
                              if line.startswith("authd_metrics_listen"))
        with vhm_daemon.daemon(lookupd, lookupd_cf, tmp, name="lookupd") as lk, \
                vhm_daemon.daemon(policyd, policyd_cf, tmp, name="policyd") as pd, \
                vhm_daemon.daemon(authd, authd_cf, tmp, name="authd"), \
                vhm_daemon.daemon(lmtpd, lmtpd_cf, tmp, name="lmtpd"), \
                vhm_daemon.daemon(milter, milter_cf, tmp, name="milter") as md:
            lk.wait_for_log("routing data loaded")
            pd.wait_for_log("routing data loaded")
            lookupd_endpoint = f"127.0.0.1:{ports['lookupd']}"
            http_protocol(lookupd_endpoint)
            policyd_checks(tmp, f"unix:{tmp}/policyd-metrics")
            authd_checks(tmp, authd_endpoint)
            lmtpd_checks(tmp, f"127.0.0.1:{ports['lmtpd']}")
            lint("milter", f"unix:{tmp}/milter-metrics")
            status_conf = os.path.join(tmp, "status.cf")
            with open(status_conf, "w") as f:
                f.write(lookupd_cf + "".join(ln + "\n" for cf in (policyd_cf, authd_cf, lmtpd_cf,
                                                                  milter_cf)
                                             for ln in cf.splitlines()
                                             if "_metrics_listen" in ln))
            status_checks(admin, status_conf)
            lookupd_checks(db, lk, f"{tmp}/lookupd.sock", lookupd_endpoint, admin, status_conf)
            check("status after the outage: exit 0 once every daemon has polled again",
                  vhm_daemon.wait_for(lambda: status(admin, status_conf)[0] == 0, timeout=30),
                  True)
            md.kill()
            code, out = status(admin, status_conf)
            print(out)
            check("status with the milter killed: exit 1", code, 1)
            check("status with the milter killed: DOWN",
                  any(ln.split()[:2] == ["milter", "DOWN"] for ln in out.splitlines() if ln),
                  True)
    return verdict()


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
