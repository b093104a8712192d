#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""run_side_data_diff_test.py SIDE_DATA_DIFF SOURCE_DIR - per-domain data followed by changes.

policyd's send limits and the milter's DKIM keys and from_any_in_domain settings are read whole
once, then only for the domains the routing triggers mark changed (vhost::follow_changes).
side_data_diff (side_data_diff.cc) keeps such a copy A across rounds of random changes to a
private MariaDB (the repository's migrations; 12 domains of 10 addresses) and compares it after
each round with B, read whole: limits added, changed and deleted, for domains and addresses;
keys added, activated, retired and deleted; from_any toggled on domains and addresses; domains
renamed, disabled, deleted and added; addresses renamed and deleted (their limits cascade). A
round that changes nothing must cost A no statement, and a change to one domain one statement.

The seed is VHM_SIDE_DATA_SEED (default below). Exit 0 = pass, 1 = fail, 77 = no MariaDB.
"""

import glob
import os
import random
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
import vhm_mariadb  # noqa: E402
from vhm_check import check, verdict  # noqa: E402

DEFAULT_SEED = 20261207
ROUNDS = 40


def setup_sql():
    """12 domains of 10 addresses; each domain with limits, an active and a new key, and a
    from_any setting on some domains and addresses."""
    out = []
    for d in range(12):
        name = "d%d.example" % d
        out.append("INSERT INTO domains (name, from_any_in_domain) VALUES ('%s', %s);" % (
            name, "TRUE" if d % 3 == 0 else "FALSE"))
        dom = "(SELECT id FROM domains WHERE name = '%s')" % name
        for a in range(10):
            out.append("INSERT INTO addresses (domain_id, local_part, mailbox, from_any_in_domain)"
                       " VALUES (%s, 'u%d', 1, %s);" % (dom, a, ["NULL", "TRUE", "FALSE"][a % 3]))
        out.append("INSERT INTO send_limits (domain_id, applies_to, budget, window_seconds,"
                   " max_value) VALUES (%s, 'each', 'messages', 3600, %d),"
                   " (%s, 'total', 'recipients', 86400, %d),"
                   " (%s, 'each', 'recipients_per_message', 0, 50);" % (dom, 100 + d, dom,
                                                                          1000 + d, dom))
        out.append("INSERT INTO send_limits (domain_id, address_id, budget, window_seconds,"
                   " max_value) SELECT domain_id, id, 'bytes', 60, 1000000 FROM addresses"
                   " WHERE domain_id = %s AND local_part IN ('u1', 'u2');" % dom)
        for sel, alg, state in (("a", "rsa-sha256", "active"), ("b", "ed25519-sha256", "active"),
                                ("c", "rsa-sha256", "new")):
            out.append("INSERT INTO dkim_keys (domain_id, selector, algorithm, key_file,"
                       " public_key, state) VALUES (%s, '%s', '%s', '/nonexistent/%s-%s.key',"
                       " 'p', '%s');" % (dom, sel, alg, name, sel, state))
    return "\n".join(out)


class Mutations:
    def __init__(self, db, rng):
        self.db = db
        self.rng = rng
        self.serial = 0

    def ids(self, table):
        return [int(x) for x in self.db.sql("SELECT id FROM %s" % table).split()]

    def pick(self, table):
        ids = self.ids(table)
        return self.rng.choice(ids) if ids else None

    def one(self):
        """One random change; SQL run, or None when it found nothing to change."""
        r = self.rng
        self.serial += 1
        n = self.serial
        domain = self.pick("domains")
        address = self.pick("addresses")
        limit = self.pick("send_limits")
        key = self.pick("dkim_keys")
        budget = r.choice(["messages", "recipients", "bytes", "recipients_per_message"])
        window = 0 if budget == "recipients_per_message" else r.choice([60, 3600, 86400])
        choices = [
            "INSERT INTO send_limits (domain_id, applies_to, budget, window_seconds, max_value)"
            " VALUES (%s, '%s', '%s', %d, %d)" % (domain, r.choice(["each", "total"]), budget,
                                                  window, r.randint(1, 500)),
            "INSERT INTO send_limits (domain_id, address_id, budget, window_seconds, max_value)"
            " SELECT domain_id, id, '%s', %d, %d FROM addresses WHERE id = %s" % (
                budget, window, r.randint(1, 500), address),
            "UPDATE send_limits SET max_value = max_value + 1 WHERE id = %s" % limit,
            "DELETE FROM send_limits WHERE id = %s" % limit,
            "INSERT INTO dkim_keys (domain_id, selector, algorithm, key_file, public_key, state)"
            " VALUES (%s, 's%d', '%s', '/nonexistent/k%d.key', 'p', '%s')" % (
                domain, n, r.choice(["rsa-sha256", "ed25519-sha256"]), n,
                r.choice(["new", "active"])),
            "UPDATE dkim_keys SET state = '%s' WHERE id = %s" % (
                r.choice(["active", "retired"]), key),
            "DELETE FROM dkim_keys WHERE id = %s" % key,
            "UPDATE domains SET from_any_in_domain = NOT from_any_in_domain WHERE id = %s" % domain,
            "UPDATE addresses SET from_any_in_domain = %s WHERE id = %s" % (
                r.choice(["NULL", "TRUE", "FALSE"]), address),
            "UPDATE domains SET name = 'r%d-%s' WHERE id = %s" % (
                n, r.choice(["a.example", "b.example"]), domain),
            "UPDATE domains SET enabled = NOT enabled WHERE id = %s" % domain,
            "UPDATE addresses SET local_part = 'v%d' WHERE id = %s" % (n, address),
            "DELETE FROM addresses WHERE id = %s" % address,
            "DELETE FROM domains WHERE id = %s" % domain,
            "INSERT INTO domains (name, from_any_in_domain) VALUES ('n%d.example', TRUE);"
            " INSERT INTO addresses (domain_id, local_part, from_any_in_domain)"
            " SELECT id, 'w', FALSE FROM domains WHERE name = 'n%d.example'" % (n, n),
        ]
        # Domain deletions and additions less often than the rest: the data should stay rich.
        sql = r.choice(choices[:-2] * 4 + choices[-2:])
        if "None" in sql:
            return None
        self.db.sql(sql)
        return sql


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    program, source = sys.argv[1], sys.argv[2]
    vhm_mariadb.skip_unless_available()
    seed = int(os.environ.get("VHM_SIDE_DATA_SEED", DEFAULT_SEED))
    rng = random.Random(seed)
    with vhm_mariadb.private_mariadb() as db:
        for path in sorted(glob.glob(os.path.join(source, "sql", "migrations", "*.sql"))):
            db.load_file(path)
        db.sql(setup_sql())
        proc = subprocess.Popen([program, "--socket", db.socket, "--user", db.user,
                                 "--password", db.password, "--database", db.database],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        muts = Mutations(db, rng)

        def ask():
            proc.stdin.write("check\n")
            proc.stdin.flush()
            reply = proc.stdout.readline().strip()
            return reply or "DIED exit %s" % proc.poll()

        def statements(reply):
            return int(reply.rsplit("statements=", 1)[1]) if "statements=" in reply else -1

        first = ask()
        check("first read: whole, one statement (seed %d): %s" % (seed, first),
              first.startswith("OK") and statements(first) == 1, True)
        for _ in range(2):
            muts.one()  # something to compare in the rounds below, whatever the first picks
        reply = ask()
        check("two changes followed: " + reply, reply.startswith("OK"), True)
        reply = ask()
        check("nothing changed: no statement: " + reply, statements(reply), 0)
        db.sql("UPDATE send_limits SET max_value = max_value + 1 LIMIT 1;"
               " INSERT INTO send_limits (domain_id, budget, window_seconds, max_value)"
               " SELECT MIN(id), 'messages', 60, 9 FROM domains")
        reply = ask()
        check("a change to one or two domains: a statement each: " + reply,
              reply.startswith("OK") and 1 <= statements(reply) <= 2, True)
        for i in range(ROUNDS):
            done = [m for m in (muts.one() for _ in range(rng.randint(1, 4))) if m]
            reply = ask()
            if not reply.startswith("OK"):
                print("round %d changes:\n  %s" % (i, "\n  ".join(done)))
            check("round %d (seed %d): %s" % (i, seed, reply), reply.startswith("OK"), True)
        proc.stdin.close()
        check("side_data_diff exit status", proc.wait(timeout=60), 0)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
