#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The systemd units in systemd/, checked on the host (no booted systemd needed).

usage: run_units_test.py SOURCE_DIR LOOKUPD AUTHD POLICYD LMTPD MILTER

- systemd-analyze verify: clean for every unit (ExecStart pointed at the built binaries, since
  nothing is installed here; the installed-system test runs the real paths);
- systemd-analyze security --offline=true --threshold=25: every service's exposure <= 2.5;
- each .socket unit listens exactly where the daemon's default listeners are (vhostmail-X -d),
  so that a socket-activated daemon finds every socket it asks for;
- the hardening every service must keep (a unit edit that drops one fails here by name);
- the milter, whose libmilter opens its own socket (no .socket unit), starts as root only to
  bind in Postfix's private directory: its capabilities are the bind's and the privilege drop's,
  and it is told to drop to its own user.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vhm_check import check, verdict  # noqa: E402

REQUIRED = {
    "Type": "notify",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "CapabilityBoundingSet": "",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "RestrictSUIDSGID": "yes",
}


def unit_settings(path):
    out = {}
    for line in open(path, encoding="utf-8"):
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, value = line.split("=", 1)
            out.setdefault(key, []).append(value)
    return out


def default_listeners(binary):
    """The daemon's *_listen parameters and their defaults, as -d prints them."""
    r = subprocess.run([binary, "-c", "/dev/null", "-d"], capture_output=True, text=True,
                       timeout=30)
    listen = {}
    for line in r.stdout.splitlines():
        m = re.match(r"^(\w+_listen) = ?(.*)$", line)
        if m:
            listen[m.group(1)] = m.group(2).split()
    return listen


def endpoint(item):
    """A listener value as the .socket unit writes it."""
    if "=" in item:  # lookupd_tcp_listen: map=endpoint
        item = item.split("=", 1)[1]
    for prefix in ("unix:", "inet:"):
        if item.startswith(prefix):
            return item[len(prefix):]
    return item


def main():
    source, binaries = sys.argv[1], dict(zip(("lookupd", "authd", "policyd", "lmtpd", "milter"),
                                             sys.argv[2:7]))
    socket_activated = [d for d in binaries if d != "milter"]
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("systemd-analyze not found (package systemd)")
        return 1
    units_dir = os.path.join(source, "systemd")
    tmp = tempfile.mkdtemp(prefix="vhm-units-")
    try:
        names = sorted(os.listdir(units_dir))
        for name in names:
            text = open(os.path.join(units_dir, name), encoding="utf-8").read()
            for daemon, path in binaries.items():
                text = text.replace("/usr/sbin/vhostmail-" + daemon, os.path.abspath(path))
            with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                f.write(text)
        check("every daemon has a .service unit, and a .socket unit but the milter",
                sorted(n for n in names), sorted(
                    [f"vhostmail-{d}.service" for d in binaries] +
                    [f"vhostmail-{d}.socket" for d in socket_activated]))

        r = subprocess.run([analyze, "verify", "--man=no"] +
                           [os.path.join(tmp, n) for n in names],
                           capture_output=True, text=True, timeout=60)
        ours = [line for line in (r.stdout + r.stderr).splitlines() if "vhostmail" in line]
        print(r.stdout + r.stderr, end="")
        check("systemd-analyze verify: exit 0", r.returncode, 0)
        check("systemd-analyze verify: nothing said about our units", ours, [])

        for name in names:
            if not name.endswith(".service"):
                continue
            r = subprocess.run([analyze, "security", "--offline=true", "--threshold=25",
                                os.path.join(tmp, name)],
                               capture_output=True, text=True, timeout=60)
            level = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
            print(f"{name}: exposure {level.group(1) if level else '?'}")
            check(f"{name}: systemd-analyze security exposure <= 2.5", r.returncode, 0)
            settings = unit_settings(os.path.join(units_dir, name))
            own_socket = name == "vhostmail-milter.service"
            for key, want in REQUIRED.items():
                if own_socket and key == "CapabilityBoundingSet":
                    want = "CAP_SETUID CAP_SETGID CAP_CHOWN CAP_DAC_OVERRIDE"
                check(f"{name}: {key}={want}", settings.get(key, [None])[0], want)
            if own_socket:
                check(f"{name}: drops to its own user after binding",
                      "-o milter_user=vhostmail-milter" in settings["ExecStart"][0], True)
            else:
                check(f"{name}: runs as its own user, not root",
                      settings.get("User", ["root"])[0] != "root", True)

        milter_socket = default_listeners(binaries["milter"])["milter_listen"]
        check("the milter's socket is in Postfix's chroot",
              [endpoint(item).startswith("/var/spool/postfix/private/") for item in milter_socket],
              [True])
        for daemon in socket_activated:
            binary = binaries[daemon]
            wanted = sorted(endpoint(item) for items in default_listeners(binary).values()
                            for item in items)
            socket = unit_settings(os.path.join(units_dir, f"vhostmail-{daemon}.socket"))
            check(f"vhostmail-{daemon}.socket listens where the daemon's defaults say",
                    sorted(socket.get("ListenStream", [])), wanted)
            for path in socket.get("ListenStream", []):
                if path.startswith("/"):
                    check(f"{path}: inside Postfix's chroot",
                            path.startswith("/var/spool/postfix/private/"), True)
            if any(p.startswith("/") for p in socket.get("ListenStream", [])):
                check(f"vhostmail-{daemon}.socket: group postfix, mode 0660",
                        (socket.get("SocketGroup", [""])[0], socket.get("SocketMode", [""])[0]),
                        ("postfix", "0660"))
        cmake = open(os.path.join(source, "CMakeLists.txt"), encoding="utf-8").read()
        changelog = open(os.path.join(source, "debian", "changelog"), encoding="utf-8").readline()
        project = re.search(r"project\(vhostmail VERSION ([0-9.]+)", cmake)
        package = re.match(r"vhostmail \(([^)+~-]+)", changelog)
        check("debian/changelog's version is the project's (CMakeLists.txt)",
              package and package.group(1), project and project.group(1))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
