# SPDX-License-Identifier: Apache-2.0
"""vhm_postfix - Postfix's own clients and a private Postfix instance for integration tests.

Python 3 standard library only. Nothing here touches /etc/postfix or the system's Postfix.

    import vhm_postfix
    vhm_postfix.skip_unless_available()            # exits 77 when postfix/postmap are missing

    conf = vhm_postfix.client_config_dir(tmp)      # a config dir postmap -c accepts
    r = vhm_postfix.postmap_query(conf, "key", "tcp:127.0.0.1:10042")
    r.status   # "found" | "notfound" | "temp" (postmap's fatal "query error" / temporary error)
    r.value    # the value when found
    vhm_postfix.postmap_many(conf, keys, table)    # postmap -q - : {key: value} for found keys

    with vhm_postfix.private_postfix(tmp, main_cf_extra="...", master_cf_extra="") as pf:
        pf.smtp_port                               # smtpd on 127.0.0.1:pf.smtp_port
        pf.rcpt("sender@x", "rcpt@y")              # (code, text) of RCPT TO via smtplib
        pf.auth("PLAIN", "user@x", "pw")           # (code, text) of SMTP AUTH (PLAIN or LOGIN,
                                                   # initial=False: no initial response)
        pf.log()                                   # its maillog file content

The private instance follows TESTING.md: own config dir, queue and data directories, maillog
file, every service unchrooted, started with `postfix -c DIR start`, stopped with
`postfix -c DIR stop` (and its master SIGKILLed by PID if stop fails).
"""

import os
import shutil
import smtplib
import socket
import subprocess
import sys
import time

SKIP = 77
_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])


def _which(name):
    return shutil.which(name, path=_PATH)


def skip_unless_available():
    for tool in ("postmap", "postfix", "postconf"):
        if _which(tool) is None:
            print(f"SKIP: {tool} not installed (apt-get install postfix)")
            sys.exit(SKIP)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def client_config_dir(parent):
    """A directory with the minimal main.cf that postmap -c needs."""
    conf = os.path.join(parent, "postmap-conf")
    os.makedirs(conf, exist_ok=True)
    with open(os.path.join(conf, "main.cf"), "w") as f:
        f.write("compatibility_level = 3.6\n")
    return conf


class query_result:
    def __init__(self, status, value="", stderr=""):
        self.status, self.value, self.stderr = status, value, stderr

    def __repr__(self):
        return f"query_result({self.status!r}, {self.value!r})"


def postmap_query(conf, key, table, timeout=30):
    """One `postmap -q KEY TABLE` with Postfix's own table client."""
    p = subprocess.run([_which("postmap"), "-c", conf, "-q", key, table],
                       capture_output=True, text=True, timeout=timeout)
    if p.returncode == 0:
        return query_result("found", p.stdout.rstrip("\n"), p.stderr)
    if "fatal" in p.stderr or "temporary" in p.stderr or "error" in p.stderr:
        return query_result("temp", "", p.stderr)
    if p.returncode == 1:
        return query_result("notfound", "", p.stderr)
    return query_result("temp", "", p.stderr)


def postmap_many(conf, keys, table, timeout=120):
    """`postmap -q - TABLE` over many keys: {key: value} of the found ones. Raises on errors."""
    p = subprocess.run([_which("postmap"), "-c", conf, "-q", "-", table],
                       input="".join(k + "\n" for k in keys), capture_output=True, text=True,
                       timeout=timeout)
    if "fatal" in p.stderr:
        raise RuntimeError(f"postmap -q - {table}: {p.stderr.strip()}")
    found = {}
    for line in p.stdout.splitlines():
        k, _, v = line.partition("\t")
        found[k] = v
    return found


class private_postfix:
    """A throwaway Postfix instance; see the module header."""

    def __init__(self, parent, main_cf_extra="", master_cf_extra="", start=True):
        self.dir = os.path.join(parent, "postfix")
        self.conf = os.path.join(self.dir, "conf")
        self.queue = os.path.join(self.dir, "queue")
        self.data = os.path.join(self.dir, "data")
        self.logfile = os.path.join(self.dir, "maillog")
        self.smtp_port = free_port()
        self.main_cf_extra = main_cf_extra
        self.master_cf_extra = master_cf_extra
        self.started = False
        self._start = start

    def __enter__(self):
        self.setup()
        if self._start:
            self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def setup(self):
        for d in (self.conf, self.queue, self.data):
            os.makedirs(d, exist_ok=True)
        # Postfix's own ownership rules: postfix-owned data dir; queue subdirs made by `postfix`.
        shutil.chown(self.data, "postfix", "postfix")
        open(self.logfile, "a").close()
        main = f"""
compatibility_level = 3.6
queue_directory = {self.queue}
data_directory = {self.data}
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
daemon_directory = /usr/lib/postfix/sbin
command_directory = /usr/sbin
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.vhostmail.test
mydomain = vhostmail.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
relayhost =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_banner = $myhostname ESMTP vhostmail-test
maillog_file = {self.logfile}
maillog_file_prefixes = {self.dir}
smtputf8_enable = no
biff = no
smtpd_relay_restrictions = reject_unauth_destination
"""
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main + self.main_cf_extra + "\n")
        master = f"""
127.0.0.1:{self.smtp_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""
        with open(os.path.join(self.conf, "master.cf"), "w") as f:
            f.write(master + self.master_cf_extra + "\n")

    def postconf_warnings(self):
        p = subprocess.run([_which("postconf"), "-c", self.conf, "-n"], capture_output=True,
                           text=True)
        return p.stderr.strip()

    def start(self, timeout=30):
        check = subprocess.run([_which("postfix"), "-c", self.conf, "check"],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"postfix check failed: {check.stderr}")
        p = subprocess.run([_which("postfix"), "-c", self.conf, "start"], capture_output=True,
                           text=True)
        if p.returncode != 0:
            raise RuntimeError(f"postfix start failed: {p.stderr}\n{self.log()}")
        self.started = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.smtp_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"postfix smtpd did not come up\n{self.log()}")

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        if not self.started:
            return
        self.started = False
        pid = self.master_pid()
        subprocess.run([_which("postfix"), "-c", self.conf, "stop"], capture_output=True)
        deadline = time.monotonic() + 15
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
                time.sleep(0.05)
            except ProcessLookupError:
                return
        if pid:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass

    def rcpt(self, sender, recipient, timeout=30):
        """(code, text) of RCPT TO:<recipient> after MAIL FROM:<sender>."""
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=timeout) as s:
            s.ehlo("client.vhostmail.test")
            code, text = s.mail(sender)
            if code != 250:
                return code, text.decode(errors="replace")
            code, text = s.rcpt(recipient)
            return code, text.decode(errors="replace")

    def auth(self, mech, user, password, initial=True, port=None, timeout=30):
        """(code, text) of SMTP AUTH PLAIN or LOGIN, with or without an initial response."""
        import base64

        def b64(text):
            return base64.b64encode(text.encode()).decode()

        with smtplib.SMTP("127.0.0.1", port or self.smtp_port, timeout=timeout) as s:
            s.ehlo("client.vhostmail.test")
            if mech.upper() == "PLAIN":
                blob = b64(f"\0{user}\0{password}")
                if initial:
                    code, text = s.docmd("AUTH", f"PLAIN {blob}")
                else:
                    code, text = s.docmd("AUTH", "PLAIN")
                    if code == 334:
                        code, text = s.docmd(blob)
            else:
                if initial:
                    code, text = s.docmd("AUTH", f"LOGIN {b64(user)}")
                else:
                    code, text = s.docmd("AUTH", "LOGIN")
                    if code == 334:
                        code, text = s.docmd(b64(user))
                if code == 334:
                    code, text = s.docmd(b64(password))
            return code, text.decode(errors="replace")

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""
