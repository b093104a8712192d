# SPDX-License-Identifier: Apache-2.0
"""DKIM keys for the milter tests, made the way an admin makes them: `vhostmail dkim keygen` and
`activate` into the test's own key directory, readable by the group the test daemons drop to
(nobody's nogroup); the DNS records as `vhostmail --json dkim show` prints them."""

import json

import vhm_daemon
from vhm_check import check


def admin(tool, db, tmp, *args, stdin=None):
    """The admin tool against db, with the test's key directory and group."""
    return vhm_daemon.admin_tool(tool, db, *args, stdin=stdin, options=[
        f"admin_dkim_key_directory={tmp}/dkim", "admin_dkim_key_group=nogroup"])


def make_keys(tool, db, tmp):
    """RSA (r1) and Ed25519 (e1) keys for blobber.org, activated; the TXT records by name."""
    for selector, alg in (("r1", "rsa"), ("e1", "ed25519")):
        r = admin(tool, db, tmp, "dkim", "keygen", "blobber.org", "--selector", selector,
                  "--algorithm", alg)
        check(f"dkim keygen {alg}", (r.returncode, r.stderr), (0, ""))
        r = admin(tool, db, tmp, "dkim", "activate", "blobber.org", selector)
        check(f"dkim activate {selector}", r.returncode, 0)
    r = admin(tool, db, tmp, "--json", "dkim", "show", "blobber.org")
    check("dkim show --json", r.returncode, 0)
    return {rec["name"]: rec["record"] for rec in json.loads(r.stdout or "[]")}
