#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Reliability: policyd's rate counters under a lost COMMIT reply, and how late another
instance sees a charge.

usage: run_counter_flush_test.py POLICYD ADMIN SOURCE_DIR

Covers: (1) a flush whose COMMIT the server applied but whose reply never reached policyd (a
proxy cuts the connection just after forwarding COMMIT) is not written a second time, nor is
the next one, whose reply is lost the same way while the first is still in doubt: the
database holds exactly the messages charged; (2) a charge made on one instance is seen by a
second instance within policyd_rate_flush_interval + policyd_rate_refresh_interval (the bound
docs/cluster.md states), measured, and the charging instance counts it at once.
"""

import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import vhm_clients  # noqa: E402
import vhm_daemon  # noqa: E402
import vhm_dbproxy  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_metrics  # noqa: E402
from vhm_check import check, verdict  # noqa: E402

LOGIN = "vivita@blobber.org"
FLUSH = 0.25
REFRESH = 1.0

SETUP_SQL = """
INSERT INTO send_limits (domain_id, address_id, budget, window_seconds, max_value)
  SELECT d.id, a.id, 'messages', 3600, 1000 FROM addresses a JOIN domains d ON d.id = a.domain_id
  WHERE d.name = 'blobber.org' AND a.local_part = 'vivita';
INSERT INTO addresses (domain_id, local_part, password)
  SELECT domain_id, 'capped', password FROM addresses WHERE local_part = 'xandros';
INSERT INTO send_limits (domain_id, address_id, budget, window_seconds, max_value)
  SELECT d.id, a.id, 'messages', 3600, 3 FROM addresses a JOIN domains d ON d.id = a.domain_id
  WHERE d.name = 'blobber.org' AND a.local_part = 'capped';
"""


def policy_config(tmp, name, shard, db_hosts=None):
    return ((f"db_hosts = {db_hosts}\n" if db_hosts else "") +
            f"policyd_submission_listen = unix:{tmp}/{name}-sub\n"
            f"policyd_mx_listen = unix:{tmp}/{name}-mx\n"
            "policyd_socket_group =\npolicyd_socket_mode = 0666\n"
            "policyd_submission_checks = rate_limit\n"
            f"policyd_rate_flush_interval = {int(FLUSH * 1000)}ms\n"
            f"policyd_rate_refresh_interval = {int(REFRESH * 1000)}ms\n"
            f"policyd_shard_id = {shard}\n"
            f"policyd_metrics_listen = unix:{tmp}/{name}-metrics\n")


def charge(c, login, n, tag):
    answers = []
    for i in range(n):
        answers.append(c.ask(protocol_state="END-OF-MESSAGE", sender=login, sasl_username=login,
                             recipient_count="1", size="100", instance=f"{tag}{i}"))
    return answers


def stored(db, login, shard):
    total = db.sql("SELECT COALESCE(SUM(n), 0) FROM rate_counters WHERE counter_key = "
                   f"'login:{login}:messages' AND shard = '{shard}'").strip()
    return int(total)


def lost_commit_case(db, proxy, d, tmp):
    c = vhm_clients.policy_client(f"{tmp}/one-sub")
    metrics = f"unix:{tmp}/one-metrics"
    before = vhm_metrics.scrape(metrics)
    check("5 messages charged", charge(c, LOGIN, 5, "a"), ["DUNNO"] * 5)
    check("...and stored once", vhm_daemon.wait_for(lambda: stored(db, LOGIN, "one") == 5, 10),
          True)
    log_at = d.log_size()
    proxy.lose_next_commit_reply()
    check("3 more charged", charge(c, LOGIN, 3, "b"), ["DUNNO"] * 3)
    check("the flush's COMMIT went through and its reply was lost", proxy.wait_tripped(10), True)
    # The next flush's reply is lost too: it found the first stored and wrote only what was
    # new, and is in doubt itself.
    proxy.lose_next_commit_reply()
    check("2 more charged while the first is in doubt", charge(c, LOGIN, 2, "c"), ["DUNNO"] * 2)
    check("the second flush's reply lost too", proxy.wait_tripped(15), True)
    d.wait_for_log("cannot store rate counters", start_at=log_at)
    vhm_daemon.wait_for(lambda: "stored again" in d.log()[log_at:], timeout=20)
    time.sleep(4 * FLUSH)
    check("after two lost replies: every message stored exactly once", stored(db, LOGIN, "one"),
          10)
    check("policyd says the unconfirmed flushes had been stored",
          "not written again" in d.log()[log_at:], True)
    after = vhm_metrics.scrape(metrics)

    def grew(name):
        return vhm_metrics.value(after, name) - vhm_metrics.value(before, name)

    check("metrics: two flush attempts failed", grew("vhostmail_policy_flush_failures_total"),
          2.0)
    check("metrics: in doubt found stored (once, or each of the two)",
          grew("vhostmail_policy_flushes_found_stored_total") in (1.0, 2.0), True)
    check("metrics: nothing dropped", grew("vhostmail_policy_updates_dropped_total"), 0.0)
    check("metrics: nothing in doubt or unflushed now",
          (vhm_metrics.value(after, "vhostmail_policy_flushes_in_doubt"),
           vhm_metrics.value(after, "vhostmail_policy_unflushed_updates")), (0.0, 0.0))
    check("metrics: flushes stored", grew("vhostmail_policy_flushes_total") >= 2, True)
    check("2 more charged after it", charge(c, LOGIN, 2, "d"), ["DUNNO"] * 2)
    check("...and stored once",
          vhm_daemon.wait_for(lambda: stored(db, LOGIN, "one") == 12, 10), True)
    c.close()


def reader_bound_case(tmp):
    login = "capped@blobber.org"  # 3 messages per hour
    a = vhm_clients.policy_client(f"{tmp}/one-sub")
    b = vhm_clients.policy_client(f"{tmp}/two-sub")
    check("instance 2 charges one message", charge(b, login, 1, "r")[0], "DUNNO")
    time.sleep(3 * FLUSH)  # stored, before instance 1 reads the counter for the first time
    check("instance 1: 2 more charged within the limit", charge(a, login, 2, "s"), ["DUNNO"] * 2)
    # The charging instance counts its own charges at once, flushed or not.
    r = a.ask(sender=login, sasl_username=login, recipient="xandros@blobber.org",
              protocol_state="RCPT", instance="t0")
    check("instance 1 defers a 4th message at once", r.startswith("DEFER_IF_PERMIT"), True)
    started = time.monotonic()
    seen = None
    while time.monotonic() - started < 10:
        r = b.ask(sender=login, sasl_username=login, recipient="xandros@blobber.org",
                  protocol_state="RCPT", instance=f"u{time.monotonic()}")
        if r.startswith("DEFER_IF_PERMIT"):
            seen = time.monotonic() - started
            break
        time.sleep(0.05)
    print(f"instance 2 saw instance 1's charges after {seen}s "
          f"(bound: {FLUSH} + {REFRESH} s + a commit)")
    check("instance 2 sees the charges within flush + refresh interval (+0.5 s)",
          seen is not None and seen <= FLUSH + REFRESH + 0.5, True)
    a.close()
    b.close()


def main():
    policyd, admin, source = sys.argv[1:4]
    vhm_mariadb.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-flush-") as tmp, \
            vhm_mariadb.private_mariadb(tcp=True) as db, \
            vhm_dbproxy.proxy(db.port) as proxy:
        os.chmod(tmp, 0o755)
        base = vhm_daemon.base_config(db, tmp)
        vhm_daemon.spec_database(admin, db, source)
        db.sql(SETUP_SQL, database=db.database)
        one = base + policy_config(tmp, "one", "one", db_hosts=f"127.0.0.1:{proxy.port}")
        with vhm_daemon.daemon(policyd, one, tmp, name="policyd1") as d, \
                vhm_daemon.daemon(policyd, base + policy_config(tmp, "two", "two"), tmp,
                                  name="policyd2") as d2:
            d.wait_for_log("routing data loaded")
            d2.wait_for_log("routing data loaded")
            lost_commit_case(db, proxy, d, tmp)
            reader_bound_case(tmp)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
