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
        pf.send("a@x", ["b@y"], msg, port=None, login=None)
                                                   # one SMTP transaction: .rcpt {rcpt: (code,
                                                   # text)}, .data (code, text) or None
        pf.sendmail_shim(path)                     # a sendmail(1) stand-in for our daemons
        pf.log()                                   # its maillog file content

    msg = vhm_postfix.make_message("a@x", "b@y", "subject")   # a small RFC 5322 message
    t = vhm_postfix.lookupd_tables(tmp)            # ports and socket for one lookupd:
    t.config()                                     # its lookupd_*_listen lines
    t.tcp("aliases"), t.sm("aliases")              # Postfix table names that reach it
    t.snippet(source, "main.cf.lookup")            # a shipped snippet pointed at them

The private instance follows docs/testing.md: own config dir, queue and data directories, maillog
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


_handed_out = set()


def free_port():
    """A loopback TCP port nothing listens on now, never one this process handed out before
    (the kernel may give a just-released port again: two listeners would then collide)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def client_config_dir(parent):
    """A directory with the minimal main.cf that postmap -c needs."""
    conf = os.path.join(parent, "postmap-conf")
    os.makedirs(conf, exist_ok=True)
    with open(os.path.join(conf, "main.cf"), "w") as f:
        f.write("compatibility_level = 3.6\n")
    return conf


MAPS = ("domains", "aliases", "mailboxes", "senders")


class lookupd_tables:
    """Loopback ports and a socketmap socket for one vhostmail-lookupd, and the Postfix table
    names that reach them; see the module header."""

    def __init__(self, tmp):
        self.ports = {m: free_port() for m in MAPS}
        self.socket = os.path.join(tmp, "lookupd.sock")

    def config(self):
        tcp = " ".join(f"{m}=127.0.0.1:{p}" for m, p in self.ports.items())
        return (f"lookupd_socketmap_listen = unix:{self.socket}\n"
                f"lookupd_tcp_listen = {tcp}\n")

    def tcp(self, m):
        return f"tcp:127.0.0.1:{self.ports[m]}"

    def sm(self, m):
        return f"socketmap:unix:{self.socket}:{m}"

    def snippet(self, source, name):
        """A postfix-snippets/ file with the default endpoints replaced by these."""
        with open(os.path.join(source, "postfix-snippets", name)) as f:
            text = f.read()
        for i, m in enumerate(MAPS):
            text = text.replace(f"tcp:127.0.0.1:{10041 + i}", self.tcp(m))
        return text.replace("socketmap:inet:127.0.0.1:10040:", f"socketmap:unix:{self.socket}:")


def make_message(sender, to, subject, body="hello\n", extra=""):
    """A small message with CRLF line ends; extra: more header lines, CRLF-terminated."""
    return (f"From: <{sender}>\r\nTo: <{to}>\r\nSubject: {subject}\r\n"
            f"Message-ID: <{subject.replace(' ', '.')}.{time.time()}@test>\r\n{extra}\r\n"
            + body.replace("\n", "\r\n"))


class smtp_result:
    """What one SMTP transaction got: per-recipient RCPT replies and the DATA reply."""

    def __init__(self):
        self.rcpt = {}      # recipient -> (code, text)
        self.data = None    # (code, text) when DATA was sent

    def refused(self):
        """{recipient: code} of the recipients that were not accepted."""
        return {r: c for r, (c, _) in self.rcpt.items() if c >= 300}


# A sendmail(1) stand-in that hands a message to a private instance over SMTP. Postfix's own
# sendmail cannot be used there by an unprivileged daemon: with -C (or MAIL_CONFIG) it insists
# that the directory is listed in /etc/postfix/main.cf (alternate_config_directories).
_SENDMAIL_SHIM = """#!/usr/bin/python3
# sendmail -i -f SENDER -- RECIPIENT...: submits stdin to 127.0.0.1:{port} over SMTP.
import smtplib, sys
args, sender, rcpts = sys.argv[1:], "", []
while args:
    a = args.pop(0)
    if a == "-f" and args:
        sender = args.pop(0)
    elif a == "--":
        rcpts, args = args, []
    elif not a.startswith("-"):
        rcpts.append(a)
msg = sys.stdin.buffer.read().replace(b"\\r\\n", b"\\n").replace(b"\\n", b"\\r\\n")
try:
    with smtplib.SMTP("127.0.0.1", {port}, timeout=60) as s:
        s.sendmail(sender.strip("<>"), rcpts, msg)
except (OSError, smtplib.SMTPException) as e:
    print("sendmail shim:", e, file=sys.stderr)
    sys.exit(75)
"""


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
        # A parameter set in main_cf_extra replaces the base line instead of overriding it
        # (postconf warns about a parameter defined twice).
        extra_names = {line.split("=", 1)[0].strip() for line in self.main_cf_extra.splitlines()
                       if "=" in line and line[:1] not in ("", " ", "\t", "#")}
        main = "\n".join(line for line in main.splitlines()
                         if "=" not in line or line.split("=", 1)[0].strip() not in extra_names)
        with open(os.path.join(self.conf, "main.cf"), "w") as f:
            f.write(main + "\n" + self.main_cf_extra + "\n")
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

    def send(self, sender, recipients, msg, port=None, login=None, timeout=30):
        """One SMTP transaction (after AUTH when login=(user, password)): an smtp_result.
        DATA is sent when at least one recipient was accepted."""
        result = smtp_result()
        with smtplib.SMTP("127.0.0.1", port or self.smtp_port, timeout=timeout) as s:
            s.ehlo("client.vhostmail.test")
            if login:
                s.login(*login)
            code, text = s.mail(sender)
            if code != 250:
                result.rcpt = {r: (code, text.decode(errors="replace")) for r in recipients}
                return result
            for r in recipients:
                code, text = s.rcpt(r)
                result.rcpt[r] = (code, text.decode(errors="replace"))
            if any(c < 300 for c, _ in result.rcpt.values()):
                code, text = s.data(msg)
                result.data = (code, text.decode(errors="replace"))
        return result

    def sendmail_shim(self, path):
        """Writes a sendmail(1) stand-in at path that submits to this instance's smtpd (for
        deliver_sendmail_command); returns path. See _SENDMAIL_SHIM for why."""
        with open(path, "w") as f:
            f.write(_SENDMAIL_SHIM.replace("{port}", str(self.smtp_port)))
        os.chmod(path, 0o755)
        return path

    def log(self):
        try:
            with open(self.logfile, errors="replace") as f:
                return f.read()
        except OSError:
            return ""
