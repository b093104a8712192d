#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The vhostmail demo: SPEC.md's examples resolved by Postfix's own postmap through lookupd.

usage: demo.py BUILD_DIR SOURCE_DIR

Starts a private MariaDB (temp dir, unix socket), applies the schema and creates SPEC.md's
example data with the `vhostmail` admin tool, starts vhostmail-lookupd with a generated
config (tcp_table and socketmap listeners), queries it with `postmap -q`, shows a change being
picked up live and the database going down, then stops everything it started.
"""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402

EXAMPLES = [
    ("aliases", "john@whopper.nu", "catch-all of whopper.nu -> the mailbox of xandros"),
    ("aliases", "julian@lala.com", "@lala.com -> @whopper.nu, then its catch-all"),
    ("aliases", "vivita@mail.blobber.org", "@mail.blobber.org -> @blobber.org: a mailbox"),
    ("aliases", "nobody@mail.blobber.org", "-> nobody@blobber.org, which does not exist"),
    ("aliases", "karl@blobber.org", "forwarded off-site, no local copy"),
    ("aliases", "julian@blobber.org", "no mailbox, no alias, no fallback: rejected"),
    ("aliases", "xandros@blobber.org", "its own mailbox: the mailboxes map answers"),
    ("mailboxes", "xandros@blobber.org", "Maildir relative to the mail base"),
    ("mailboxes", "Xandros+lists@Blobber.ORG", "upper case and +extension"),
    ("domains", "lala.com", "hosted domain"),
    ("domains", "example.com", "not hosted"),
    ("senders", "xandros@blobber.org", "xandros may send as xandros@blobber.org"),
    ("senders", "vivita@blobber.org", "...but not as vivita (only vivita may)"),
]


SPEC_DATA = [
    ("domain", "add", "blobber.org"),
    ("domain", "add", "mail.blobber.org", "fallback=@blobber.org"),
    ("domain", "add", "whopper.nu", "fallback=xandros@blobber.org"),
    ("domain", "add", "lala.com", "fallback=@whopper.nu"),
    ("address", "add", "xandros@blobber.org", "mailbox=yes", "full_name=Xandros Blob"),
    ("address", "add", "vivita@blobber.org", "mailbox=yes"),
    ("address", "add", "karl@blobber.org"),
    ("address", "forward", "add", "karl@blobber.org", "karl.vovianda@gmail.com"),
    ("address", "add", "postmaster@blobber.org"),
    ("address", "forward", "add", "postmaster@blobber.org", "postmaster@localhost"),
]

PORT_MAPS = {}  # tcp table name -> map name, for the output


def show(conf, table, key, note):
    r = vhm_postfix.postmap_query(conf, key, table)
    answer = {"found": r.value, "notfound": "(not found)", "temp": "(temporary failure)"}
    label = table.split(":")[0] + ":" + (table.rsplit(":", 1)[-1] if table.startswith("socketmap")
                                         else PORT_MAPS.get(table, "?"))
    print(f"  postmap -q {key:<28} {label:<18} "
          f"-> {answer[r.status]:<26} # {note}")


def main():
    build, source = sys.argv[1:3]
    lookupd = os.path.join(build, "daemons/lookupd/vhostmail-lookupd")
    admin = os.path.join(build, "daemons/admin/vhostmail")
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-demo-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        print(f"== private MariaDB on {db.socket}")
        config_file = os.path.join(tmp, "vhostmail.cf")
        with open(config_file, "w") as f:
            f.write(vhm_daemon.base_config(db, tmp) +
                    f"admin_migrations_directory = {source}/sql/migrations\n")

        def vhostmail(*args, stdin=None):
            print("  $ vhostmail " + " ".join(args))
            subprocess.run([admin, "-c", config_file] + list(args), input=stdin, text=True,
                           check=True, stdout=subprocess.DEVNULL)

        print("== the schema and SPEC.md's example data, made with the admin tool:")
        vhostmail("db", "migrate")
        for command in SPEC_DATA:
            vhostmail(*command)
        for login in ("xandros@blobber.org", "vivita@blobber.org"):
            vhostmail("address", "passwd", login, "--stdin", stdin="secret\n")
        ports = {m: vhm_postfix.free_port() for m in ("domains", "aliases", "mailboxes",
                                                     "senders")}
        PORT_MAPS.update({f"tcp:127.0.0.1:{p}": m for m, p in ports.items()})
        sock = os.path.join(tmp, "lookupd.sock")
        config = (vhm_daemon.base_config(db, tmp) +
                  f"lookupd_socketmap_listen = unix:{sock}\n" +
                  "lookupd_tcp_listen = " +
                  " ".join(f"{m}=127.0.0.1:{p}" for m, p in ports.items()) + "\n")
        conf = vhm_postfix.client_config_dir(tmp)
        with vhm_daemon.daemon(lookupd, config, tmp, name="lookupd") as d:
            d.wait_for_log("routing data loaded")
            print(f"== vhostmail-lookupd is up (config {d.config_file}); its log:")
            print("   " + d.log().strip().replace("\n", "\n   "))
            print("\n== Postfix's postmap over tcp_table(5):")
            for m, key, note in EXAMPLES:
                show(conf, f"tcp:127.0.0.1:{ports[m]}", key, note)
            print("\n== the same over socketmap(5):")
            for m, key, note in EXAMPLES[:7]:
                show(conf, f"socketmap:unix:{sock}:{m}", key, note)

            print("\n== a mailbox added with the tool is served within the 1 s bound:")
            vhostmail("address", "add", "julian@blobber.org", "mailbox=yes")
            t0 = time.monotonic()
            while vhm_postfix.postmap_query(conf, "julian@blobber.org",
                                            f"tcp:127.0.0.1:{ports['mailboxes']}").status != "found":
                time.sleep(0.02)
            print(f"  julian@blobber.org answered after {(time.monotonic() - t0) * 1000:.0f} ms")
            show(conf, f"tcp:127.0.0.1:{ports['mailboxes']}", "julian@blobber.org", "new mailbox")

            print("\n== vhostmail resolve explains a route:")
            subprocess.run([admin, "-c", config_file, "resolve", "julian@lala.com"])
            print("\n== the database goes away: answers become temporary failures (Postfix defers)")
            db.kill()
            time.sleep(1.5)
            show(conf, f"tcp:127.0.0.1:{ports['aliases']}", "john@whopper.nu", "database down")
            db.start()
            while vhm_postfix.postmap_query(conf, "john@whopper.nu",
                                            f"tcp:127.0.0.1:{ports['aliases']}").status != "found":
                time.sleep(0.1)
            print("== the database is back: answers resume without restarting lookupd")
            show(conf, f"tcp:127.0.0.1:{ports['aliases']}", "john@whopper.nu", "database back")
            code = d.terminate()
            print(f"\n== lookupd stopped on SIGTERM (exit {code}); stopping MariaDB")
    print("== demo done: everything it started is stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
