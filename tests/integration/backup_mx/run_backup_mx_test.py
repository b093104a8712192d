#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test of per-domain routing (docs/routing.md): lookupd's relay_domains,
relay_recipients, transports and relayhosts maps behind a private Postfix, with a real MariaDB.

usage: run_backup_mx_test.py LOOKUPD ADMIN SOURCE_DIR

Set up with the admin tool, as an admin would:
  backup.example        role=backup, transport = the primary (a second private Postfix, which
                        relays what it gets to a sink); anna@ (a mailbox), list@ (an alias),
                        its domain alias backup.net, and catchall.example (role=backup, a
                        catch-all into backup.example)
  moved.example         a primary domain whose mailboxes are on another server: transport to
                        a third server (a sink); vivita@blobber.org, one address sent there
                        ahead of its domain
  blobber.org           relayhost = a fourth server (a sink) for mail it sends out
Then, through the backup Postfix (postfix-snippets/main.cf.lookup + main.cf.routing):
  - an unknown user of a backup domain is refused at RCPT (550); a mailbox, an alias, an
    address of the domain alias and one reached through the catch-all are accepted;
  - with the primary down the mail waits in the queue; when it is back, the queue is flushed
    and the mail reaches the primary (and, through it, the sink);
  - mail for moved.example goes to its transport's server;
  - mail from blobber.org to the outside leaves through its relayhost;
  - postmap -q answers each map as the table says; postconf -n is warning-free.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402
from smtp_sink import smtp_sink  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

OUTSIDER = "someone@sender.example"


def q(conf, key, table):
    r = vhm_postfix.postmap_query(conf, key, table)
    return r.value if r.status == "found" else r.status


def setup_data(admin, db, primary_port, moved_port, relay_port):
    for args in (
            ("domain", "add", "backup.example", "role=backup",
             f"transport=smtp:[127.0.0.1]:{primary_port}"),
            ("address", "add", "anna@backup.example", "mailbox=yes"),
            ("address", "add", "list@backup.example"),
            ("address", "forward", "add", "list@backup.example", "anna@backup.example"),
            ("domain", "alias", "add", "backup.net", "backup.example"),
            ("domain", "add", "catchall.example", "role=backup", "fallback=@backup.example",
             f"transport=smtp:[127.0.0.1]:{primary_port}"),
            ("domain", "add", "moved.example", f"transport=smtp:[127.0.0.1]:{moved_port}"),
            ("address", "add", "bob@moved.example", "mailbox=yes"),
            ("domain", "set", "blobber.org", f"relayhost=[127.0.0.1]:{relay_port}"),
            # One mailbox already moved to the new server, the rest of its domain still here.
            ("address", "set", "vivita@blobber.org", f"transport=smtp:[127.0.0.1]:{moved_port}")):
        r = vhm_daemon.admin_tool(admin, db, *args)
        check(" ".join(args), (r.returncode, r.stderr.strip()), (0, ""))
    r = vhm_daemon.admin_tool(admin, db, "domain", "set", "backup.example", "transport=smtp:x y")
    check("a transport that is not one is refused", (r.returncode, "bad value for transport" in
                                                     r.stderr), (1, True))
    r = vhm_daemon.admin_tool(admin, db, "resolve", "list@backup.example")
    check("resolve shows the backup's answer and the transport",
          ("relay_recipients OK" in " ".join(r.stdout.split()),
           f"transports smtp:[127.0.0.1]:{primary_port}" in " ".join(r.stdout.split())),
          (True, True))


def map_cases(conf, t, primary_port, moved_port, relay_port):
    cases = [
        ("relay_domains", "backup.example", "backup.example"),
        ("relay_domains", "backup.net", "backup.example"),
        ("relay_domains", "blobber.org", "notfound"),
        ("domains", "backup.example", "notfound"),
        ("relay_recipients", "anna@backup.example", "OK"),
        ("relay_recipients", "nobody@backup.example", "notfound"),
        ("mailboxes", "anna@backup.example", "notfound"),
        ("transports", "backup.example", f"smtp:[127.0.0.1]:{primary_port}"),
        ("transports", "moved.example", f"smtp:[127.0.0.1]:{moved_port}"),
        ("transports", "blobber.org", "notfound"),
        ("relayhosts", "@blobber.org", f"[127.0.0.1]:{relay_port}"),
        ("relayhosts", "@moved.example", "notfound"),
    ]
    for m, key, want in cases:
        check(f"postmap {m} {key}", q(conf, key, t.sm(m)), want)


def queue_ids(pf):
    r = subprocess.run(["postqueue", "-c", pf.conf, "-j"], capture_output=True, text=True)
    return [line for line in r.stdout.splitlines() if line.strip()]


def backup_cases(backup, primary, primary_sink):
    for rcpt in ("nobody@backup.example", "nobody@catchall.example", "nobody@backup.net"):
        code, text = backup.rcpt(OUTSIDER, rcpt)
        check(f"backup: RCPT {rcpt} refused", code // 100, 5)
    accepted = ["anna@backup.example", "list@backup.example", "anna@backup.net",
                "anna@catchall.example"]
    primary.stop()
    for rcpt in accepted:
        msg = vhm_postfix.make_message(OUTSIDER, rcpt, f"via backup {rcpt}")
        r = backup.send(OUTSIDER, [rcpt], msg)
        check(f"backup: {rcpt} accepted while the primary is down",
              (r.rcpt[rcpt][0], r.data[0] if r.data else None), (250, 250))
    queued = vhm_daemon.wait_for(lambda: "status=deferred" in backup.log(), 30)
    check("backup: with the primary down the mail waits in the queue",
          (bool(queued), len(queue_ids(backup))), (True, len(accepted)))
    check("backup: nothing bounced", "status=bounced" in backup.log(), False)
    if failures:
        print("backup postfix log tail:\n" + backup.log()[-4000:])
        return
    primary.start()
    subprocess.run(["postqueue", "-c", backup.conf, "-f"], capture_output=True)
    for rcpt in accepted:
        got = primary_sink.wait_for(lambda m, s=f"via backup {rcpt}": s.encode() in m.data, 30)
        check(f"backup -> primary -> its mailbox server: {rcpt}",
              got.recipients if got else None, [rcpt])
    check("backup: the queue is empty afterwards",
          vhm_daemon.wait_for(lambda: not queue_ids(backup), 30), True)


def transport_cases(backup, moved_sink, relay_sink):
    msg = vhm_postfix.make_message(OUTSIDER, "bob@moved.example", "to the moved domain")
    r = backup.send(OUTSIDER, ["bob@moved.example"], msg)
    check("moved.example: accepted", r.data[0] if r.data else r.rcpt, 250)
    got = moved_sink.wait_for(lambda m: b"to the moved domain" in m.data, 30)
    check("moved.example: delivered to its transport's server", got.recipients if got else None,
          ["bob@moved.example"])
    msg = vhm_postfix.make_message(OUTSIDER, "vivita@blobber.org", "to the moved mailbox")
    r = backup.send(OUTSIDER, ["vivita@blobber.org"], msg)
    check("vivita@blobber.org: accepted", r.data[0] if r.data else r.rcpt, 250)
    got = moved_sink.wait_for(lambda m: b"to the moved mailbox" in m.data, 30)
    check("vivita@blobber.org: its own transport, ahead of its domain",
          got.recipients if got else None, ["vivita@blobber.org"])
    code, _ = backup.rcpt(OUTSIDER, "nobody@moved.example")
    check("moved.example: an unknown user is still refused here", code, 550)
    msg = vhm_postfix.make_message("xandros@blobber.org", "friend@outside.example", "via relayhost")
    r = backup.send("xandros@blobber.org", ["friend@outside.example"], msg)
    check("blobber.org's outgoing mail accepted", r.data[0] if r.data else r.rcpt, 250)
    got = relay_sink.wait_for(lambda m: b"via relayhost" in m.data, 30)
    check("blobber.org's outgoing mail leaves through its relayhost",
          (got.sender, got.recipients) if got else None,
          ("xandros@blobber.org", ["friend@outside.example"]))


def check_postfix_cases(admin, config_file, backup, tmp):
    """vhostmail check --postfix knows the routing maps: quiet about the backup as set up, and
    an error for a backup domain without relay_recipient_maps (an open backscatter source)."""
    def routing_lines(conf_dir):
        p = subprocess.run([admin, "-c", config_file, "check", "--postfix", conf_dir],
                           capture_output=True, text=True)
        return [line for line in p.stdout.splitlines()
                if any(w in line for w in ("relay_", "transport_maps", "relayhost"))]
    check("check --postfix: the backup as set up has no routing finding",
          routing_lines(backup.conf), [])
    mutant = os.path.join(tmp, "pf-no-relay-recipients")
    os.makedirs(mutant)
    for name in ("main.cf", "master.cf"):
        shutil.copy(os.path.join(backup.conf, name), mutant)
    subprocess.run(["postconf", "-c", mutant, "-X", "relay_recipient_maps"], check=True)
    lines = routing_lines(mutant)
    check("check --postfix: no relay_recipient_maps for a backup domain is an error",
          any(line.startswith("error: relay_recipient_maps") and "backscatter" in line
              for line in lines), True)


def main():
    lookupd, admin, source = sys.argv[1:4]
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-backup-mx-") as tmp, \
            vhm_mariadb.private_mariadb() as db, smtp_sink() as primary_sink, \
            smtp_sink() as moved_sink, smtp_sink() as relay_sink:
        os.chmod(tmp, 0o755)
        base = vhm_daemon.base_config(db, tmp)
        vhm_daemon.spec_database(admin, db, source)
        primary_dir = os.path.join(tmp, "primary")
        os.mkdir(primary_dir)
        # The primary: another Postfix, which takes the backup domains' mail and passes it on.
        primary = vhm_postfix.private_postfix(
            primary_dir, start=False,
            main_cf_extra="myhostname = primary.vhostmail.test\n"
                          "relay_domains = backup.example backup.net catchall.example\n"
                          f"relayhost = [127.0.0.1]:{primary_sink.port}\n")
        setup_data(admin, db, primary.smtp_port, moved_sink.port, relay_sink.port)
        t = vhm_postfix.lookupd_tables(tmp)
        conf = vhm_postfix.client_config_dir(tmp)
        sasl = os.path.join(tmp, "sasl_passwd")
        with open(sasl, "w") as f:
            f.write(f"[127.0.0.1]:{relay_sink.port} user:password\n")
        os.chmod(sasl, 0o600)
        subprocess.run(["postmap", "-c", conf, sasl], check=True)
        routing = t.snippet(source, "main.cf.routing").replace(
            "hash:/etc/postfix/sasl_passwd", f"hash:{sasl}")
        main_cf = (t.snippet(source, "main.cf.lookup") + routing +
                   # Nothing is delivered here; if it were, it would wait, not bounce.
                   f"virtual_transport = lmtp:unix:{tmp}/no-lmtpd-here\n"
                   "mynetworks = 127.0.0.0/8\n"
                   "smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination\n"
                   "smtpd_recipient_restrictions = reject_unlisted_recipient\n"
                   # Retry soon: the test is seconds, not hours.
                   "queue_run_delay = 2s\nminimal_backoff_time = 2s\nmaximal_backoff_time = 4s\n")
        with vhm_daemon.daemon(lookupd, base + t.config(), tmp, name="lookupd",
                               extra_args=["-v"] if os.environ.get("VHM_DEBUG") else []) as lk, \
                vhm_postfix.private_postfix(tmp, main_cf_extra=main_cf) as backup, primary:
            lk.wait_for_log("routing data loaded")
            check("postconf -n is warning-free", backup.postconf_warnings(), "")
            map_cases(conf, t, primary.smtp_port, moved_sink.port, relay_sink.port)
            backup_cases(backup, primary, primary_sink)
            transport_cases(backup, moved_sink, relay_sink)
            check_postfix_cases(admin, lk.config_file, backup, tmp)
            if failures:
                print("backup postfix log tail:\n" + backup.log()[-3000:])
                print("primary postfix log tail:\n" + primary.log()[-2000:])
            if os.environ.get("VHM_DEBUG"):
                print("\n".join(line for line in lk.log().splitlines()
                                if "transports" in line or "relay" in line))
            check("lookupd: no crash or sanitizer report",
                  "ERROR: " in lk.log() or "runtime error" in lk.log(), False)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
