#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One copy of the routing data per host: with routing_image_file set, vhostmail-lookupd
publishes its copy in that file and policyd and lmtpd map it instead of loading their own.

usage: run_host_image_test.py ADMIN LOOKUPD POLICYD LMTPD SOURCE_DIR

Checks, against a private MariaDB and the three daemons:
- every daemon routes the agreement test's address alike, from the one copy (policyd and lmtpd
  load nothing, log no "routing data loaded", and map the file);
- a committed change (a full mailbox gets room) is answered by policyd within its staleness
  bound (1 s) plus a poll;
- lookupd killed: policyd's answer becomes its fault action once the copy is older than its
  bound (never an answer from stale data), lmtpd routes by direct queries (its SQL fallback)
  and still routes right; lookupd restarted: it replaces the file and policyd follows the new
  one without a restart of its own;
- the file is mode 0640, owned by lookupd's user, and nothing half written is left beside it;
- a file lookupd cannot write: it logs that and still answers from its own copy.
"""

import os
import pwd
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run_routing_agreement_test as agreement  # noqa: E402
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402
from vhm_check import check, verdict  # noqa: E402


def maps_file(pid, path):
    with open(f"/proc/{pid}/maps") as f:
        return any(line.rstrip().endswith(path) for line in f)


def main():
    admin, lookupd, policyd, lmtpd, source = sys.argv[1:6]
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-image-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        vhm_daemon.spec_database(admin, db, source)
        agreement.set_up(admin, db)
        run = os.path.join(tmp, "run")
        os.mkdir(run, 0o750)
        nobody = pwd.getpwnam("nobody")
        os.chown(run, nobody.pw_uid, nobody.pw_gid)  # the daemons drop to nobody
        image = os.path.join(run, "routing.image")
        base = vhm_daemon.base_config(db, tmp) + f"routing_image_file = {image}\n"
        mailbase = vhm_daemon.mail_base(tmp)
        lmtp_path, policyd_path = os.path.join(tmp, "lmtp.sock"), os.path.join(tmp, "policy")
        tables = vhm_postfix.lookupd_tables(tmp)
        lookup_conf = vhm_postfix.client_config_dir(tmp)
        config_file = os.path.join(tmp, "vhostmail.cf")
        with open(config_file, "w") as f:
            f.write(base)
        args = (tables, lookup_conf, admin, db, config_file, policyd_path, lmtp_path, mailbase)
        policy_conf = (f"policyd_mx_listen = unix:{policyd_path}\n"
                       "policyd_mx_checks = recipient\n")
        with vhm_daemon.daemon(lookupd, base + tables.config(), tmp, name="lookupd") as lk, \
                vhm_daemon.daemon(policyd, base + policy_conf, tmp, name="policyd") as pd, \
                vhm_daemon.daemon(lmtpd, base + vhm_daemon.delivery_config(
                    mailbase, "/bin/true", lmtp_path), tmp, name="lmtpd") as lm:
            lk.wait_for_log("routing data loaded")
            agreement.agree("one copy per host", agreement.FULL, *args)
            for d in (pd, lm):
                check(f"{d.name} loads no copy of its own", "routing data loaded" in d.log(),
                      False)
                check(f"{d.name} maps lookupd's image", maps_file(d.proc.pid, image), True)
            st = os.stat(image)
            check("image mode 0640, owned by lookupd's user",
                  (oct(st.st_mode & 0o777), st.st_uid), ("0o640", nobody.pw_uid))
            check("nothing half written beside it", os.path.exists(image + ".new"), False)

            # A change reaches policyd through lookupd's image within the bound: the full
            # mailbox gets room.
            check("full before", agreement.by_policyd(policyd_path), agreement.FULL)
            db.sql("UPDATE addresses SET quota_bytes = NULL WHERE local_part = 'sales+vip'")
            committed = time.monotonic()
            seen = vhm_daemon.wait_for(
                lambda: agreement.by_policyd(policyd_path) == agreement.ROOMY, timeout=5,
                interval=0.02)
            took = time.monotonic() - committed
            check(f"a committed change is answered by policyd within 1 s + a poll ({took:.2f} s)",
                  (seen, took < 1.3), (True, True))
            db.sql("UPDATE addresses SET quota_bytes = 1024 WHERE local_part = 'sales+vip'")
            check("and back", vhm_daemon.wait_for(
                lambda: agreement.by_policyd(policyd_path) == agreement.FULL, timeout=5), True)

            # lookupd gone: nothing answers from the unconfirmed copy beyond the bound.
            lk.kill()
            time.sleep(1.5)
            answer = agreement.by_policyd(policyd_path)
            check("lookupd killed: policyd answers its fault action, not from the stale copy",
                  answer.startswith("DEFER"), True)
            check("lookupd killed: lmtpd routes by direct queries, still right",
                  agreement.by_lmtpd(lmtp_path, mailbase), agreement.FULL)
            old_inode = os.stat(image).st_ino
            logged, lk_logged = pd.log_size(), lk.log_size()
            lk.start()
            lk.wait_for_log("routing data loaded", start_at=lk_logged)
            check("the restarted lookupd replaced the file", os.stat(image).st_ino != old_inode,
                  True)
            back = vhm_daemon.wait_for(
                lambda: agreement.by_policyd(policyd_path) != answer, timeout=5)
            check("policyd follows the new image without a restart", back, True)
            agreement.agree("after lookupd's restart", agreement.FULL, *args)
            check("policyd says it opened the new image",
                  "routing image opened" in pd.log()[logged:], True)
            for d in (lk, pd, lm):
                check(f"{d.name}: no sanitizer report",
                      "ERROR: " in d.log() or "runtime error" in d.log(), False)
        # A file lookupd cannot write: it says so and still answers from its own copy.
        locked = os.path.join(tmp, "locked")
        os.mkdir(locked, 0o755)  # root's: the daemon, as nobody, cannot create files there
        conf = base.replace(image, os.path.join(locked, "routing.image"))
        with vhm_daemon.daemon(lookupd, conf + tables.config(), tmp, name="lookupd2") as lk2:
            lk2.wait_for_log("routing data loaded")
            check("unwritable image file: lookupd says so",
                  "cannot publish the routing image" in lk2.log(), True)
            check("unwritable image file: lookupd still answers from its own copy",
                  agreement.by_lookupd(tables, lookup_conf), agreement.FULL)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
