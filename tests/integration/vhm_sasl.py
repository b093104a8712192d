# SPDX-License-Identifier: Apache-2.0
"""vhm_sasl - clients of vhostmail-authd's two protocols, for integration tests.

    import vhm_sasl
    why = vhm_sasl.testsaslauthd_missing()      # None, or why testsaslauthd cannot run
    code, out = vhm_sasl.testsaslauthd(mux_path, "user@example.org", "password")
    c = vhm_sasl.dovecot_client(auth_path)      # handshake done; c.handshake = its lines
    c.plain(1, "user@example.org", "password")  # -> "OK\t1\t..." / "FAIL\t1\t..."

testsaslauthd is Debian's client of the saslauthd protocol (package sasl2-bin): its exit code is
0 for "OK", 255 otherwise. dovecot_client speaks the Dovecot auth protocol itself, for what
Postfix cannot choose (rip=, several requests on one connection).
"""

import base64
import shutil
import socket
import subprocess

_PATH = "/usr/sbin:/usr/bin"


def testsaslauthd_missing():
    if shutil.which("testsaslauthd", path=_PATH) is None:
        return "testsaslauthd not installed (apt-get install sasl2-bin)"
    return None


def testsaslauthd(mux, user, password, realm=None, service="smtp"):
    """(exit code, output) of Debian's testsaslauthd against the saslauthd socket mux."""
    cmd = [shutil.which("testsaslauthd", path=_PATH), "-f", mux, "-u", user, "-p", password,
           "-s", service]
    if realm is not None:
        cmd += ["-r", realm]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    return p.returncode, (p.stdout + p.stderr).strip()


class dovecot_client:
    """A raw Dovecot-protocol client."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(15)
        self.s.connect(path)
        self.buf = b""
        self.s.sendall(b"VERSION\t1\t0\nCPID\t1\n")
        self.handshake = []
        while True:
            line = self.line()
            self.handshake.append(line)
            if line == "DONE" or line is None:
                break

    def line(self):
        while b"\n" not in self.buf:
            data = self.s.recv(4096)
            if not data:
                return None
            self.buf += data
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode()

    def send(self, text):
        self.s.sendall(text.encode())

    def plain(self, rid, user, password, rip="192.0.2.1", secured=True):
        blob = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        sec = "\tsecured" if secured else ""
        self.send(f"AUTH\t{rid}\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip={rip}{sec}"
                  f"\tresp={blob}\n")
        return self.line()

    def close(self):
        self.s.close()
