#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Every daemon routes an address the same way, under every routing setting: lookupd (what
Postfix's virtual_alias_maps gets), policyd's recipient check, lmtpd (which routes the
recipient again at delivery) and `vhostmail resolve` are asked about the same address, and
must name the same mailbox. Then the setting changes, the daemons reload (SIGHUP), and they must
agree again, on the new answer.

usage: run_routing_agreement_test.py ADMIN LOOKUPD POLICYD LMTPD SOURCE_DIR

The address: joe+vip@agree.example, where joe forwards to sales@agree.example, and
sales+vip@agree.example is an address of its own (a mailbox that is full). With
propagate_unmatched_extensions = yes (Postfix's default) the forward carries the extension and
mail goes to sales+vip, whose full mailbox makes policyd defer and lmtpd refuse it; with no, it
goes to sales's mailbox.
"""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vhm_clients  # noqa: E402
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402
from vhm_check import check, verdict  # noqa: E402

ADDRESS = "joe+vip@agree.example"
FULL, ROOMY = "sales+vip", "sales"  # the two mailboxes the address can reach
MESSAGE = b"Subject: agree\r\n\r\n" + b"larger than the full mailbox's 1k quota\r\n" * 50


def set_up(admin, db):
    for args in (("domain", "add", "agree.example"),
                 ("address", "add", "sales@agree.example", "mailbox=yes"),
                 ("address", "add", "sales+vip@agree.example", "mailbox=yes", "quota_bytes=1k",
                  "maildir=agree.example/sales-vip/"),
                 ("address", "add", "joe@agree.example"),
                 ("address", "forward", "add", "joe@agree.example", "sales@agree.example")):
        r = vhm_daemon.admin_tool(admin, db, *args)
        check(f"vhostmail {' '.join(args)}", (r.returncode, r.stderr.strip()), (0, ""))
    # What delivery records for an empty mailbox (policyd reads this).
    db.sql("INSERT INTO mailbox_usage (address_id, node, bytes, messages) SELECT a.id, 'test',"
           " 0, 0 FROM addresses a WHERE a.local_part IN ('sales', 'sales+vip')")


def by_lookupd(tables, conf):
    r = vhm_postfix.postmap_query(conf, ADDRESS, tables.sm("aliases"))
    return {"sales+vip@agree.example": FULL, "sales@agree.example": ROOMY}.get(r.value, r.value)


def by_resolve(admin, config_file):
    r = subprocess.run([admin, "-c", config_file, "--json", "resolve", ADDRESS],
                       capture_output=True, text=True, timeout=60)
    dests = ",".join(d["address"] for d in json.loads(r.stdout or "{}").get("destinations", []))
    return {"sales+vip@agree.example": FULL, "sales@agree.example": ROOMY}.get(
        dests, f"{dests} {r.stderr.strip()}")


def by_policyd(path):
    c = vhm_clients.policy_client(path, defaults={"sender": "someone@remote.example"})
    action = c.ask(recipient=ADDRESS, size=str(len(MESSAGE)))
    c.close()
    return FULL if ".2.2 Mailbox full" in action else ROOMY if action == "DUNNO" else action


def by_lmtpd(path, mailbase):
    before = count(mailbase, "agree.example/sales/")
    s, reply = vhm_clients.lmtp_session(path)
    reply()
    s.sendall(b"LHLO test\r\nMAIL FROM:<someone@remote.example>\r\n"
              + f"RCPT TO:<{ADDRESS}>\r\nDATA\r\n".encode())
    replies = [reply()[0] for _ in range(4)]
    s.sendall(MESSAGE + b".\r\n")
    final = reply()[0]
    s.sendall(b"QUIT\r\n")
    s.close()
    if final.startswith("250") and count(mailbase, "agree.example/sales/") == before + 1:
        return ROOMY
    if " 4.2.2 " in final or " 5.2.2 " in final:
        return FULL
    return f"{replies} {final}"


def count(mailbase, path):
    d = os.path.join(mailbase, path, "new")
    return len(os.listdir(d)) if os.path.isdir(d) else 0


def agree(what, want, tables, lookup_conf, admin, db, config_file, policyd_path, lmtp_path,
          mailbase):
    answers = {"lookupd": by_lookupd(tables, lookup_conf),
               "resolve": by_resolve(admin, config_file),
               "policyd": by_policyd(policyd_path),
               "lmtpd": by_lmtpd(lmtp_path, mailbase)}
    check(f"{what}: lookupd, vhostmail resolve, policyd and lmtpd all route {ADDRESS} to"
          f" {want}", answers, {k: want for k in answers})


def main():
    admin, lookupd, policyd, lmtpd, source = sys.argv[1:6]
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-agree-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        vhm_daemon.spec_database(admin, db, source)
        set_up(admin, db)
        base = vhm_daemon.base_config(db, tmp)
        mailbase = vhm_daemon.mail_base(tmp)
        lmtp_path, policyd_path = os.path.join(tmp, "lmtp.sock"), os.path.join(tmp, "policy")
        tables = vhm_postfix.lookupd_tables(tmp)
        lookup_conf = vhm_postfix.client_config_dir(tmp)
        own = {"lookupd": tables.config(),
               "policyd": f"policyd_mx_listen = unix:{policyd_path}\n"
                          "policyd_mx_checks = recipient\n",
               "lmtpd": vhm_daemon.delivery_config(mailbase, "/bin/true", lmtp_path)}
        config_file = os.path.join(tmp, "vhostmail.cf")

        def write(setting):
            for name, text in own.items():
                with open(os.path.join(tmp, f"{name}.cf"), "w") as f:
                    f.write(base + text + setting)
            with open(config_file, "w") as f:
                f.write(base + setting)

        write("")
        with vhm_daemon.daemon(lookupd, base + own["lookupd"], tmp, name="lookupd") as lk, \
                vhm_daemon.daemon(policyd, base + own["policyd"], tmp, name="policyd") as pd, \
                vhm_daemon.daemon(lmtpd, base + own["lmtpd"], tmp, name="lmtpd") as lm:
            daemons = (lk, pd, lm)
            args = (tables, lookup_conf, admin, db, config_file, policyd_path, lmtp_path,
                    mailbase)
            agree("default (propagate_unmatched_extensions = yes)", FULL, *args)
            for what, setting, want in (
                    ("the former name set to no, after SIGHUP",
                     "lookupd_propagate_unmatched_extensions = no\n", ROOMY),
                    ("the new name (yes) wins over the former one (no)",
                     "lookupd_propagate_unmatched_extensions = no\n"
                     "propagate_unmatched_extensions = yes\n", FULL),
                    ("propagate_unmatched_extensions = no", "propagate_unmatched_extensions = no\n",
                     ROOMY)):
                write(setting)
                for d in daemons:
                    mark = len(d.log())
                    d.hup()
                    check(f"{d.name} reloaded", vhm_daemon.wait_for(
                        lambda: "configuration reloaded" in d.log()[mark:], timeout=10), True)
                agree(what, want, *args)
            check("the former name is logged as deprecated, with its replacement",
                  all('"lookupd_propagate_unmatched_extensions" is deprecated; use'
                      ' "propagate_unmatched_extensions"' in d.log() for d in daemons), True)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
