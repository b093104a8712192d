#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The installed-system test: the .debs in a booted Debian 12 with the system's own Postfix.

usage: run_install_test.py SOURCE_DIR [--keep] [--debs DIR]

(--debs: install the .debs in DIR instead of building them; for working on the test itself)

1. builds the .debs from a copy of SOURCE_DIR (dpkg-buildpackage -us -uc -b; the unit tests
   run elsewhere in the suite, so nocheck) and runs lintian --fail-on error,warning on them;
2. makes a Debian 12 root filesystem with systemd, Postfix, MariaDB and the packages' run-time
   dependencies (mmdebstrap; cached as a tarball in $VHM_CACHE_DIR, /var/cache/vhostmail-tests,
   keyed by its package list) and boots it with systemd-nspawn -b as PID 1, with only a
   loopback network of its own;
3. inside: dpkg -i the .debs, "vhostmail setup" (a dry run first, then for real, then again:
   nothing to change), docs/specification.md's example data with the vhostmail tool, and then
   against the system's Postfix on ports 25 and 587: the examples land in the right Maildirs,
   unknown users get 550 at RCPT, a login works and sending as someone else is refused, DKIM
   keys made with the admin tool sign what is submitted on 587 (verified by python3-dkim and
   OpenDKIM) and a forged From: is refused, a change is served live; each daemon restarted (and socket-activated ones stopped and started
   by their next connection) loses no message; MariaDB stopped: RCPT is a temporary failure and
   nothing bounces, started: delivered; an upgrade to a higher version keeps the configuration,
   applies a new migration and mail flows; "setup --undo" restores main.cf and master.cf; purge
   leaves no file of ours outside the mail base.
Needs root, network access to a Debian mirror (first run) and ~1 GB in /tmp.
"""
import argparse
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "milter"))
import dkim_verify  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

MIRROR = os.environ.get("VHM_DEBIAN_MIRROR", "http://deb.debian.org/debian")
CACHE = os.environ.get("VHM_CACHE_DIR", "/var/cache/vhostmail-tests")
BASE_PACKAGES = ["systemd", "systemd-sysv", "dbus", "procps", "iproute2", "adduser", "postfix",
                 "mariadb-server", "ssl-cert", "ca-certificates", "python3-minimal"]
PASSWORD = "secret"
# The container's Postfix and an outside client, on its loopback device but outside
# mynetworks (127.0.0.0/8): for Postfix the client is a stranger from the Internet.
POSTFIX_ADDRESS, CLIENT_ADDRESS = "192.0.2.25", "192.0.2.99"
OUTSIDER = "bob@remote.example"
SPEC_DATA = [
    ("domain", "add", "blobber.org"),
    ("domain", "add", "mail.blobber.org", "fallback=@blobber.org"),
    ("domain", "add", "whopper.nu", "fallback=xandros@blobber.org"),
    ("domain", "add", "lala.com", "fallback=@whopper.nu"),
    ("address", "add", "xandros@blobber.org", "mailbox=yes"),
    ("address", "add", "vivita@blobber.org", "mailbox=yes"),
]
# (recipient, RCPT code, Maildir it lands in)
PORT25 = [
    ("john@whopper.nu", 250, "blobber.org/xandros"),
    ("julian@lala.com", 250, "blobber.org/xandros"),
    ("vivita@mail.blobber.org", 250, "blobber.org/vivita"),
    ("xandros@blobber.org", 250, "blobber.org/xandros"),
    ("nobody@mail.blobber.org", 550, None),
    ("julian@blobber.org", 550, None),
    # Debian's smtpd_relay_restrictions end in defer_unauth_destination: 454, not 554.
    ("someone@example.com", 454, None),
]
DAEMONS = ["lookupd", "authd", "policyd", "lmtpd"]


def log(text):
    print(f"--- {text}", flush=True)


def run(argv, timeout=900, check_rc=True, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kw)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}\n{r.stdout[-3000:]}"
                           f"\n{r.stderr[-3000:]}")
    return r


def build_debs(source, tmp):
    src = os.path.join(tmp, "src", "vhostmail")
    os.makedirs(src)
    # The tree as committed plus the working copy's changes, without build output.
    subprocess.run(f"tar -C {source} --exclude=./build --exclude=./.git --exclude='./obj-*'"
                   f" -cf - . | tar -C {src} -xf -", shell=True, check=True)
    env = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
    t0 = time.monotonic()
    r = run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env, timeout=1500,
            check_rc=False)
    if r.returncode != 0:
        print(r.stdout[-5000:], r.stderr[-5000:])
    check("dpkg-buildpackage -us -uc -b", r.returncode, 0)
    log(f"packages built in {time.monotonic() - t0:.0f} s")
    everything = sorted(glob.glob(os.path.join(tmp, "src", "*.deb")))
    for d in everything:
        print(f"    {os.path.basename(d)}  {os.path.getsize(d) // 1024} KiB")
    debs = [d for d in everything if "-dbgsym_" not in d]
    changes = glob.glob(os.path.join(tmp, "src", "*.changes"))
    if changes:
        r = run(["lintian", "--fail-on", "error,warning", "--no-tag-display-limit"] + changes,
                check_rc=False, timeout=600)
        print(r.stdout, r.stderr, end="")
        check("lintian --fail-on error,warning", r.returncode, 0)
    return debs


def runtime_dependencies(debs):
    """The packages our .debs depend on (not ours): the root filesystem must have them, since
    the container has no network to fetch them."""
    names = set()
    for d in debs:
        depends = run(["dpkg-deb", "-f", d, "Depends"]).stdout
        for alternative in depends.split(","):
            name = alternative.split("|")[0].split("(")[0].strip()
            if name and not name.startswith("vhostmail"):
                names.add(name)
    return sorted(names)


def rootfs_tarball(packages):
    key = hashlib.sha256((MIRROR + " " + " ".join(packages)).encode()).hexdigest()[:16]
    os.makedirs(CACHE, exist_ok=True)
    tarball = os.path.join(CACHE, f"bookworm-{key}.tar")
    if os.path.exists(tarball):
        log(f"root filesystem from the cache: {tarball}")
        return tarball
    log(f"mmdebstrap bookworm with {', '.join(packages)}")
    t0 = time.monotonic()
    part = tarball + ".part"
    hook = ('echo "postfix postfix/main_mailer_type select Internet Site" | '
            'chroot "$1" debconf-set-selections; '
            'echo "postfix postfix/mailname string vhmtest.example" | '
            'chroot "$1" debconf-set-selections')
    run(["mmdebstrap", "--variant=minbase", "--format=tar", "--include=" + ",".join(packages),
         "--essential-hook=" + hook, "bookworm", part, MIRROR], timeout=1200)
    os.rename(part, tarball)
    log(f"root filesystem made in {time.monotonic() - t0:.0f} s")
    return tarball


class Container:
    def __init__(self, root, debdir, name="vhmtest"):
        self.root, self.debdir, self.name = root, debdir, name
        self.nspawn = None
        self.pid = None

    def boot(self):
        self.console = open(os.path.join(os.path.dirname(self.root), "console.log"), "w")
        self.nspawn = subprocess.Popen(
            ["systemd-nspawn", "-D", self.root, "-M", self.name, "-b", "--register=no",
             "--keep-unit", "--console=read-only", "--private-network",
             f"--bind-ro={self.debdir}:/srv/in"],
            stdin=subprocess.DEVNULL, stdout=self.console, stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            kids = run(["pgrep", "-P", str(self.nspawn.pid)], check_rc=False).stdout.split()
            if kids and run(["nsenter", "-t", kids[0], "-m", "test", "-S",
                             "/run/systemd/private"], check_rc=False).returncode == 0:
                self.pid = kids[0]
                break
            time.sleep(0.1)
        if not self.pid:
            raise RuntimeError("the container did not boot: see console.log")
        state = self.sh("systemctl is-system-running --wait", check_rc=False).stdout.strip()
        log(f"booted: {state}")
        if state != "running":
            print(self.sh("systemctl --failed --no-legend", check_rc=False).stdout)

    def sh(self, command, check_rc=True, timeout=300, input=None):
        return run(["nsenter", "-t", self.pid, "-a", "sh", "-c", command], check_rc=check_rc,
                   timeout=timeout, input=input)

    def path(self, p):
        return f"/proc/{self.pid}/root{p}"

    def smtp(self, port, sender, recipients, subject="probe", login=None, rcpt_only=False,
             from_header=None):
        argv = ["nsenter", "-t", self.pid, "-n", sys.executable,
                os.path.join(HERE, "smtp_probe.py"), str(port), sender, ",".join(recipients),
                "--subject", subject, "--host", POSTFIX_ADDRESS, "--source", CLIENT_ADDRESS]
        if login:
            argv += ["--login", f"{login[0]}:{login[1]}"]
        if rcpt_only:
            argv.append("--rcpt-only")
        if from_header:
            argv += ["--from-header", from_header]
        return json.loads(run(argv, timeout=120).stdout)

    def halt(self):
        if self.nspawn and self.nspawn.poll() is None:
            os.killpg(self.nspawn.pid, signal.SIGTERM)
            try:
                self.nspawn.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.nspawn.pid, signal.SIGKILL)
                self.nspawn.wait(10)
        for d in glob.glob(f"/run/systemd/nspawn/*{self.name}*"):
            shutil.rmtree(d, ignore_errors=True)


def wait_for(predicate, timeout, step=0.2):
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(step)


def landed(c, subject, timeout=60):
    """The Maildirs (domain/local) under /var/mail/vhosts whose new/ holds `subject`."""
    base = c.path("/var/mail/vhosts")

    def look():
        hits = []
        for f in glob.glob(os.path.join(base, "*", "*", "new", "*")):
            try:
                head = open(f, "rb").read(4096).decode(errors="replace")
            except OSError:
                continue
            if re.search(rf"^Subject: {re.escape(subject)}\r?$", head, re.M):
                hits.append("/".join(f[len(base) + 1:].split("/")[:2]))
        return sorted(hits)
    return wait_for(look, timeout) or []


def vhostmail(c, *args, input=None, check_rc=True):
    quoted = " ".join("'" + a.replace("'", "'\\''") + "'" for a in args)
    return c.sh("vhostmail " + quoted, check_rc=check_rc, input=input)


def files_of_the_system(c):
    # System state that changes by itself (logs, queues, caches) and MariaDB's data (the
    # database stays, as README.Debian says); Postfix's private/ is kept in view: our sockets.
    skip = r"^/(proc|sys|dev|run|tmp|var/log|var/cache|var/tmp|var/lib/systemd|var/lib/dpkg|" \
           r"var/lib/apt|var/spool/postfix/(?!private)|var/lib/postfix|var/lib/mysql|srv/in)"
    out = c.sh("find / -xdev 2>/dev/null || true", timeout=120).stdout.splitlines()
    return {p for p in out if not re.match(skip, p)}


def install_and_setup(c):
    log("dpkg -i the packages")
    r = c.sh("DEBIAN_FRONTEND=noninteractive dpkg -i /srv/in/*.deb", check_rc=False,
             timeout=600)
    print(r.stdout[-3000:], r.stderr[-3000:], end="")
    check("dpkg -i: every package installed", r.returncode, 0)
    # --man=no: this minimal system has no man(1); the pages themselves are checked below.
    r = c.sh("systemd-analyze verify --man=no /lib/systemd/system/vhostmail-*.service "
             "/lib/systemd/system/vhostmail-*.socket", check_rc=False)
    print(r.stdout, r.stderr, end="")
    check("systemd-analyze verify of the installed units: exit 0", r.returncode, 0)
    check("systemd-analyze verify of the installed units: nothing said",
          [line for line in (r.stdout + r.stderr).splitlines() if "vhostmail" in line], [])
    pages = ["vhostmail", "vhostmail-lookupd", "vhostmail-authd", "vhostmail-policyd",
             "vhostmail-lmtpd", "vhostmail-deliver", "vhostmail-milter"]
    check("man pages installed",
          [p for p in pages if not os.path.exists(c.path(f"/usr/share/man/man8/{p}.8.gz"))], [])
    enabled = c.sh("systemctl is-enabled vhostmail-lookupd.socket", check_rc=False)
    check("installed units wait for setup (not enabled)", enabled.stdout.strip(), "disabled")
    check("/etc/vhostmail/vhostmail.cf is 0640 root:vhostmail",
          c.sh("stat -c '%a %U:%G' /etc/vhostmail/vhostmail.cf").stdout.strip(),
          "640 root:vhostmail")
    check("/etc/vhostmail/srs.secret is 0640 root:vhostmail, one random line",
          c.sh("stat -c '%a %U:%G' /etc/vhostmail/srs.secret; wc -l < /etc/vhostmail/srs.secret;"
               " awk '{ print length($0) }' /etc/vhostmail/srs.secret").stdout.split(),
          ["640", "root:vhostmail", "1", "32"])
    check("the mail base belongs to the mail owner, 0700",
          c.sh("stat -c '%a %U:%G' /var/mail/vhosts").stdout.strip(), "700 vhostmail:vhostmail")

    main_cf = c.sh("cat /etc/postfix/main.cf").stdout
    master_cf = c.sh("cat /etc/postfix/master.cf").stdout
    log("vhostmail setup with a table the admin set by hand")
    c.sh("postconf -e virtual_mailbox_maps=hash:/etc/postfix/vmailbox")
    r = vhostmail(c, "setup", check_rc=False)
    print(r.stdout, r.stderr, end="")
    check("setup refuses an admin's own virtual_mailbox_maps: exit 1", r.returncode, 1)
    check("setup names the setting it would replace",
          "virtual_mailbox_maps = hash:/etc/postfix/vmailbox" in r.stderr, True)
    check("setup refused before changing anything (no database, no unit)",
          (c.sh("mariadb -N -e 'SHOW DATABASES LIKE \"vhostmail\"'").stdout.strip(),
           c.sh("systemctl is-enabled vhostmail-lookupd.socket", check_rc=False).stdout.strip()),
          ("", "disabled"))
    c.sh("postconf -X virtual_mailbox_maps")
    check("the admin's main.cf is back as it was", c.sh("cat /etc/postfix/main.cf").stdout,
          main_cf)
    log("vhostmail setup --dry-run")
    r = vhostmail(c, "setup", "--dry-run", check_rc=False)
    print(r.stdout, r.stderr, end="")
    check("setup --dry-run: exit 0", r.returncode, 0)
    check("setup --dry-run: says what it would do", "would enable and start" in r.stdout, True)
    check("setup --dry-run: main.cf unchanged", c.sh("cat /etc/postfix/main.cf").stdout, main_cf)
    check("setup --dry-run: no unit enabled",
          c.sh("systemctl is-enabled vhostmail-lookupd.socket", check_rc=False).stdout.strip(),
          "disabled")

    log("vhostmail setup")
    r = vhostmail(c, "setup", check_rc=False)
    print(r.stdout, r.stderr, end="")
    check("setup: exit 0", r.returncode, 0)
    for d in DAEMONS:
        check(f"setup: vhostmail-{d}.socket enabled and active",
              c.sh(f"systemctl is-enabled vhostmail-{d}.socket; "
                   f"systemctl is-active vhostmail-{d}.socket", check_rc=False).stdout.split(),
              ["enabled", "active"])
    check("setup: vhostmail-milter.service enabled and active (it has no socket unit)",
          c.sh("systemctl is-enabled vhostmail-milter.service; "
               "systemctl is-active vhostmail-milter.service", check_rc=False).stdout.split(),
          ["enabled", "active"])
    check("setup: the submission service and sendmail's mail pass the milter",
          (c.sh("postconf -P submission/inet/smtpd_milters").stdout.strip(),
           c.sh("postconf -h non_smtpd_milters milter_default_action").stdout.split()),
          ("submission/inet/smtpd_milters = unix:private/vhostmail-milter",
           ["unix:private/vhostmail-milter", "tempfail"]))
    r = vhostmail(c, "setup", check_rc=False)
    check("setup again: exit 0", r.returncode, 0)
    check("setup again: nothing to change", r.stdout.splitlines()[:1], ["nothing to change"])
    return main_cf, master_cf


def data(c):
    c.sh(f"ip addr add {POSTFIX_ADDRESS}/32 dev lo && ip addr add {CLIENT_ADDRESS}/32 dev lo")
    # An admin's own choice: this test's client is a known network, not greylisted (the
    # greylisting itself has its own tests).
    c.sh(f"echo 'policyd_greylist_client_networks = {CLIENT_ADDRESS}/32' "
         ">> /etc/vhostmail/vhostmail.cf && systemctl reload vhostmail-policyd.service")
    log("docs/specification.md's example data, with the vhostmail tool")
    for command in SPEC_DATA:
        r = vhostmail(c, *command, check_rc=False)
        check("vhostmail " + " ".join(command), r.returncode, 0)
    for login in ("xandros@blobber.org", "vivita@blobber.org"):
        r = vhostmail(c, "address", "passwd", login, "--stdin", input=PASSWORD + "\n",
                      check_rc=False)
        check(f"vhostmail address passwd {login}", r.returncode, 0)
    # Changes reach lookupd within its staleness bound (1 s), so a lookup right after them may
    # still see an older state: wait for the last address added (the catch-alls above lead to
    # it and its neighbour); the mail below follows at once. (Waiting for the last domain only
    # let the first RCPT, to a catch-all of whopper.nu, race the addresses: 454 or 550.)
    t0 = time.monotonic()
    served = wait_for(lambda: c.sh("postmap -q vivita@blobber.org tcp:127.0.0.1:10043",
                                   check_rc=False).returncode == 0, 10)
    log(f"the last address added served by lookupd after {time.monotonic() - t0:.1f} s")
    check("the example data is served by lookupd", served, True)


def port25(c, tag=""):
    for rcpt, want, where in PORT25:
        subject = f"to {rcpt}{tag}"
        r = c.smtp(25, OUTSIDER, [rcpt], subject)
        got = r["rcpt"].get(rcpt, [None])[0]
        check(f"port 25: RCPT {rcpt}", got, want)
        if got != want:
            print(f"    {r['rcpt'].get(rcpt)}")
        if want == 250:
            check(f"port 25: DATA {rcpt}", r["data"] and r["data"][0], 250)
            check(f"port 25: {rcpt} landed in {where}", landed(c, subject), [where])


def submission(c):
    login = ("xandros@blobber.org", PASSWORD)
    r = c.smtp(587, "xandros@blobber.org", ["vivita@blobber.org"], "sent on 587", login=login)
    check("587: AUTH with the right password", r["auth"] and r["auth"][0], 235)
    check("587: own address accepted", r["rcpt"].get("vivita@blobber.org", [None])[0], 250)
    check("587: delivered", landed(c, "sent on 587"), ["blobber.org/vivita"])
    r = c.smtp(587, "xandros@blobber.org", ["vivita@blobber.org"], login=("xandros@blobber.org",
                                                                           "guess"))
    check("587: wrong password refused", r["auth"] and r["auth"][0], 535)
    r = c.smtp(587, "vivita@blobber.org", ["xandros@blobber.org"], "as someone else",
               login=login)
    check("587: sending as someone else refused",
          r["rcpt"].get("xandros@blobber.org", [None])[0], 554)


def dkim_signing(c):
    """Keys made and activated with the admin tool; a message submitted on 587 arrives signed
    with both, and both signatures verify with python3-dkim and OpenDKIM; a forged From: is
    refused at end of data."""
    for selector, alg in (("r1", "rsa"), ("e1", "ed25519")):
        r = vhostmail(c, "dkim", "keygen", "blobber.org", "--selector", selector, "--algorithm",
                      alg, check_rc=False)
        check(f"dkim keygen {alg}: exit 0", (r.returncode, r.stderr), (0, ""))
        r = vhostmail(c, "dkim", "activate", "blobber.org", selector, check_rc=False)
        check(f"dkim activate {selector}: exit 0", r.returncode, 0)
    check("the private key: root:vhostmail-milter 0640",
          c.sh("stat -c '%a %U:%G' /etc/vhostmail/dkim/blobber.org.e1.key").stdout.strip(),
          "640 root:vhostmail-milter")
    records = {rec["name"]: rec["record"] for rec in json.loads(
        vhostmail(c, "--json", "dkim", "show", "blobber.org").stdout)}
    time.sleep(1.5)  # the milter's refresh interval is 250 ms
    login = ("xandros@blobber.org", PASSWORD)
    r = c.smtp(587, "xandros@blobber.org", ["vivita@blobber.org"], "signed on 587", login=login)
    check("587: accepted through the milter", r["data"] and r["data"][0], 250)
    check("587: delivered", landed(c, "signed on 587"), ["blobber.org/vivita"])
    files = [f for f in glob.glob(c.path("/var/mail/vhosts/blobber.org/vivita/new/*"))
             if b"Subject: signed on 587" in open(f, "rb").read()]
    if files:
        message = open(files[0], "rb").read()
        check("587: two DKIM-Signature fields (rsa-sha256, ed25519-sha256)",
              message.count(b"DKIM-Signature:"), 2)
        for name, verify in (("python3-dkim", dkim_verify.verify_python),
                             ("opendkim", dkim_verify.verify_opendkim)):
            ok, detail = verify(message, records)
            log(detail)
            check(f"587: the signatures verify with {name}", ok, True)
    r = c.smtp(587, "xandros@blobber.org", ["vivita@blobber.org"], "forged from", login=login,
               from_header="vivita@blobber.org")
    check("587: a forged From: refused at end of data (550 5.7.1)",
          (r["data"] or [0, ""])[0] == 550 and "5.7.1" in r["data"][1], True)


def host_image(c):
    """One routing copy per host (routing_image_file in the shipped vhostmail.cf): lookupd
    writes it, the daemons that answered the mail above map it and loaded none of their own."""
    check("the host's routing image: 0640 vhostmail-lookupd:vhostmail",
          c.sh("stat -c '%a %U %G' /run/vhostmail/routing.image", check_rc=False).stdout.strip(),
          "640 vhostmail-lookupd vhostmail")
    for d in ("policyd", "lmtpd", "milter"):
        pid = c.sh(f"systemctl show -p MainPID --value vhostmail-{d}.service").stdout.strip()
        maps = c.sh(f"cat /proc/{pid}/maps", check_rc=False).stdout
        check(f"{d} maps lookupd's routing image", "/run/vhostmail/routing.image" in maps, True)
        loaded = c.sh(f"journalctl --no-pager -q -u vhostmail-{d}.service | "
                      "grep -c 'routing data loaded' || true").stdout.strip()
        check(f"{d} loaded no routing copy of its own", loaded, "0")


def live_change(c):
    vhostmail(c, "address", "add", "julian@blobber.org", "mailbox=yes")
    t0 = time.monotonic()
    got = wait_for(lambda: c.smtp(25, OUTSIDER, ["julian@blobber.org"], rcpt_only=True)
                   ["rcpt"]["julian@blobber.org"][0] == 250, 10)
    log(f"a new mailbox accepted after {time.monotonic() - t0:.1f} s")
    check("a mailbox added with vhostmail is served live", got, True)


def restarts(c):
    for d in DAEMONS:
        before = c.sh(f"systemctl show -p MainPID --value vhostmail-{d}.service").stdout.strip()
        c.sh(f"systemctl restart vhostmail-{d}.service")
        subject = f"after restarting {d}"
        r = c.smtp(25, OUTSIDER, ["xandros@blobber.org"], subject)
        check(f"restart {d}: mail accepted", r["data"] and r["data"][0], 250)
        # Delivered at once: the socket stayed open while the daemon restarted, so nothing
        # waits in the queue for a retry.
        check(f"restart {d}: delivered", landed(c, subject, timeout=20), ["blobber.org/xandros"])
        after = c.sh(f"systemctl show -p MainPID --value vhostmail-{d}.service").stdout.strip()
        check(f"restart {d}: a new process", before != after, True)
    for d in DAEMONS:
        c.sh(f"systemctl stop vhostmail-{d}.service")
        check(f"stop {d}.service: its socket stays",
              c.sh(f"systemctl is-active vhostmail-{d}.socket", check_rc=False).stdout.strip(),
              "active")
        subject = f"while {d} was stopped"
        login = ("xandros@blobber.org", PASSWORD)
        r = c.smtp(587 if d in ("authd", "policyd") else 25, "xandros@blobber.org"
                   if d in ("authd", "policyd") else OUTSIDER, ["vivita@blobber.org"], subject,
                   login=login if d in ("authd", "policyd") else None)
        check(f"{d} stopped: the next connection starts it, mail accepted",
              r["data"] and r["data"][0], 250)
        if not r["data"]:
            print(f"    {r}")
        check(f"{d} stopped: delivered", landed(c, subject, timeout=20), ["blobber.org/vivita"])
        check(f"{d}: running again",
              c.sh(f"systemctl is-active vhostmail-{d}.service", check_rc=False).stdout.strip(),
              "active")


def database_outage(c):
    # Debian's MariaDB is socket-activated too: a connection would start it again.
    c.sh("systemctl stop mariadb.socket mariadb.service")
    codes = []

    def refused():
        codes.append(c.smtp(25, OUTSIDER, ["xandros@blobber.org"], rcpt_only=True)["rcpt"]
                     ["xandros@blobber.org"][0])
        return codes[-1] != 250
    wait_for(refused, 15, 0.5)
    check("MariaDB stopped: RCPT is a temporary failure (4xx)", codes[-1] // 100, 4)
    c.sh("systemctl start mariadb.socket mariadb.service")
    ok = wait_for(lambda: c.smtp(25, OUTSIDER, ["xandros@blobber.org"], rcpt_only=True)
                  ["rcpt"]["xandros@blobber.org"][0] == 250, 60, 0.5)
    check("MariaDB started: RCPT accepted again", ok, True)
    r = c.smtp(25, OUTSIDER, ["xandros@blobber.org"], "after the outage")
    check("after the outage: delivered", r["data"] and landed(c, "after the outage"),
          ["blobber.org/xandros"])
    bounced = c.sh("journalctl --no-pager -q | grep -c 'status=bounced' || true").stdout.strip()
    check("nothing bounced", bounced, "0")


def repack(debs, tmp, version):
    out = os.path.join(tmp, "upgrade")
    os.makedirs(out)
    for d in debs:
        work = os.path.join(tmp, "repack")
        shutil.rmtree(work, ignore_errors=True)
        run(["dpkg-deb", "-R", d, work])
        control = os.path.join(work, "DEBIAN", "control")
        text = open(control).read()
        old = re.search(r"^Version: (\S+)$", text, re.M).group(1)
        text = text.replace(f"Version: {old}", f"Version: {version}")
        text = text.replace(f"(= {old})", f"(= {version})").replace(f"(>= {old})",
                                                                     f"(>= {version})")
        open(control, "w").write(text)
        if "Package: vhostmail-common" in text:
            mig = os.path.join(work, "usr/share/vhostmail/sql/migrations/9000_upgrade_probe.sql")
            open(mig, "w").write("CREATE TABLE IF NOT EXISTS upgrade_probe (id INT);\n")
        name = os.path.basename(d).replace(old, version)
        run(["dpkg-deb", "--root-owner-group", "-b", work, os.path.join(out, name)])
    return out


def upgrade(c, debs, tmp):
    version = "0.1.0+upgrade1"
    repack(debs, tmp, version)
    c.sh("echo '# kept across upgrades' >> /etc/vhostmail/vhostmail.cf")
    pids = {d: c.sh(f"systemctl show -p MainPID --value vhostmail-{d}.service").stdout.strip()
            for d in DAEMONS}
    r = c.sh("DEBIAN_FRONTEND=noninteractive dpkg -i --force-confold /srv/in/upgrade/*.deb",
             check_rc=False, timeout=600)
    print(r.stdout[-3000:], r.stderr[-3000:], end="")
    check("upgrade: dpkg -i exit 0", r.returncode, 0)
    check("upgrade: version", c.sh("dpkg-query -W -f '${Version}' vhostmail-admin").stdout,
          version)
    check("upgrade: the configuration kept",
          "# kept across upgrades" in c.sh("cat /etc/vhostmail/vhostmail.cf").stdout, True)
    tables = c.sh("mariadb -N -e \"SHOW TABLES FROM vhostmail LIKE 'upgrade_probe'\"").stdout
    check("upgrade: the new migration applied", tables.strip(), "upgrade_probe")
    for d in DAEMONS:
        now = c.sh(f"systemctl show -p MainPID --value vhostmail-{d}.service").stdout.strip()
        check(f"upgrade: vhostmail-{d} restarted", now != pids[d] and now != "0", True)
    r = c.smtp(25, OUTSIDER, ["vivita@blobber.org"], "after the upgrade")
    check("upgrade: mail flows", r["data"] and landed(c, "after the upgrade"),
          ["blobber.org/vivita"])


def remote_database(root_tarball, debdir, tmp):
    """setup with a database reached over TCP (as a remote one is): the configuration names an
    admin account; each daemon gets an account with a password of its own, in a file only its
    user may read, handed to it by a unit drop-in."""
    log("second system: a database over TCP, as a remote one")
    root = os.path.join(tmp, "root2")
    os.makedirs(root)
    run(["tar", "-C", root, "-xf", root_tarball], timeout=600)
    c = Container(root, debdir, name="vhmremote")
    try:
        c.boot()
        r = c.sh("DEBIAN_FRONTEND=noninteractive dpkg -i $(ls /srv/in/*.deb)", check_rc=False,
                 timeout=600)
        check("remote: dpkg -i", r.returncode, 0)
        for host in ("localhost", "127.0.0.1"):  # as the server names a loopback client
            c.sh(f"mariadb -e \"CREATE USER 'vmadmin'@'{host}' IDENTIFIED BY 'admin-pw';"
                 f" GRANT ALL ON *.* TO 'vmadmin'@'{host}' WITH GRANT OPTION\"")
        c.sh("sed -i 's|^db_hosts = .*|db_hosts = 127.0.0.1|; s|^db_user =.*|db_user = vmadmin|'"
             " /etc/vhostmail/vhostmail.cf && echo 'db_password = admin-pw' >>"
             " /etc/vhostmail/vhostmail.cf")
        r = vhostmail(c, "setup", check_rc=False)
        print(r.stdout[-4000:], r.stderr[-2000:], end="")
        check("remote: setup exit 0", r.returncode, 0)
        check("remote: lookupd's credentials readable by it alone",
              c.sh("stat -c '%a %U' /etc/vhostmail/db/vhostmail-lookupd.cnf",
                   check_rc=False).stdout.strip(), "400 vhostmail-lookupd")
        check("remote: second run changes nothing",
              vhostmail(c, "setup", check_rc=False).stdout.splitlines()[:1],
              ["nothing to change"])
        data(c)
        r = c.smtp(25, OUTSIDER, ["xandros@blobber.org"], "over a remote database")
        check("remote: mail delivered", r["data"] and landed(c, "over a remote database"),
              ["blobber.org/xandros"])
        users = c.sh("mariadb -N -e \"SELECT DISTINCT USER FROM information_schema.PROCESSLIST"
                     " WHERE DB = 'vhostmail'\"").stdout.split()
        check("remote: each daemon uses its own account",
              sorted(set(users) & {"vhostmail-lookupd", "vhostmail-policyd", "vhostmail",
                                   "vmadmin"}),
              ["vhostmail", "vhostmail-lookupd", "vhostmail-policyd"])
    finally:
        if failures:
            print(c.sh("journalctl --no-pager -q -n 60 -u 'vhostmail-*'", check_rc=False).stdout
                  if c.pid else "")
        c.halt()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("source")
    p.add_argument("--keep", action="store_true")
    p.add_argument("--debs")
    a = p.parse_args()
    if os.geteuid() != 0:
        print("needs root (dpkg-buildpackage, systemd-nspawn)")
        return 77
    for tool in ("dpkg-buildpackage", "lintian", "mmdebstrap", "systemd-nspawn", "nsenter"):
        if not shutil.which(tool):
            print(f"{tool} not found (tests/support/install-deps.sh installs it)")
            return 1
    tmp = tempfile.mkdtemp(prefix="vhm-install-")
    c = None
    try:
        debs = (sorted(d for d in glob.glob(os.path.join(a.debs, "*.deb")) if "-dbgsym_" not in d)
                if a.debs else build_debs(a.source, tmp))
        if failures:
            return verdict()
        debdir = os.path.join(tmp, "in")
        os.makedirs(debdir)
        for d in debs:
            shutil.copy(d, debdir)
        tarball = rootfs_tarball(sorted(set(BASE_PACKAGES + runtime_dependencies(debs))))
        root = os.path.join(tmp, "root")
        os.makedirs(root)
        run(["tar", "-C", root, "-xf", tarball], timeout=600)
        c = Container(root, debdir)
        c.boot()
        before = files_of_the_system(c)
        main_cf, master_cf = install_and_setup(c)
        if not failures:
            data(c)
            port25(c)
            submission(c)
            dkim_signing(c)
            host_image(c)
            live_change(c)
            restarts(c)
            database_outage(c)
            # Upgrade packages are made next to the first ones, visible at /srv/in/upgrade.
            upgrade(c, debs, debdir)
        log("vhostmail setup --undo")
        r = vhostmail(c, "setup", "--undo", check_rc=False)
        print(r.stdout, r.stderr, end="")
        check("setup --undo: exit 0", r.returncode, 0)
        check("setup --undo: main.cf as before setup", c.sh("cat /etc/postfix/main.cf").stdout,
              main_cf)
        check("setup --undo: master.cf as before setup",
              c.sh("cat /etc/postfix/master.cf").stdout, master_cf)
        log("dpkg --purge")
        r = c.sh("dpkg --purge vhostmail vhostmail-lookupd vhostmail-authd vhostmail-policyd "
                 "vhostmail-lmtpd vhostmail-milter vhostmail-admin vhostmail-common",
                 check_rc=False, timeout=300)
        print(r.stdout[-2000:], r.stderr[-2000:], end="")
        check("dpkg --purge: exit 0", r.returncode, 0)
        left = sorted(files_of_the_system(c) - before)
        ours = [f for f in left if "vhostmail" in f and not f.startswith("/var/mail/vhosts")]
        print(f"    new files after purge, outside the skipped system state: {len(left)}")
        for f in left:
            print(f"      {f}")
        check("purge: no file of ours left outside the mail base", ours, [])
        check("purge: the mail is kept",
              bool(glob.glob(c.path("/var/mail/vhosts/blobber.org/xandros/new/*"))), True)
        c.halt()
        if not failures:
            remote_database(tarball, debdir, tmp)
    except Exception as e:  # a broken step ends the test with its reason, never a hang
        failures.append(f"{type(e).__name__}: {e}")
        print(f"FAIL {type(e).__name__}: {e}")
    finally:
        if c:
            if failures:
                print(c.sh("journalctl --no-pager -q -n 80 -u 'vhostmail-*' -u postfix@-",
                           check_rc=False).stdout)
            c.halt()
        if a.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
