# SPDX-License-Identifier: Apache-2.0
"""vhm_clients - raw clients of Postfix's policy delegation protocol and of LMTP, for asking
vhostmail-policyd and vhostmail-lmtpd directly (what Postfix cannot be made to send).

    c = vhm_clients.policy_client(path, defaults={"sender": "a@example.net"})
    c.ask(recipient="joe@example.org")      # the action text ("DUNNO", "DEFER_IF_PERMIT ...")
    c.ask_raw(text)                         # the reply without its blank line, None if closed

    s, reply = vhm_clients.lmtp_session(path)
    reply()                                 # the greeting's lines; after each command, its lines
"""

import socket
import time


def policy_request(**attrs):
    """A request as smtpd sends it at RCPT, with attrs replacing or adding attributes."""
    base = {"request": "smtpd_access_policy", "protocol_state": "RCPT",
            "protocol_name": "ESMTP", "client_address": "192.0.2.10",
            "client_name": "mx.example.net", "sender": "", "recipient": "",
            "instance": f"i.{time.time()}", "size": "0", "sasl_username": ""}
    base.update(attrs)
    return "".join(f"{k}={v}\n" for k, v in base.items()) + "\n"


class policy_client:
    """One persistent connection speaking the policy protocol, like smtpd's."""

    def __init__(self, path, timeout=10, defaults=None):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.defaults = defaults or {}

    def ask_raw(self, text):
        """The reply without its blank line, or None when the server closed the connection."""
        try:
            self.s.sendall(text.encode() if isinstance(text, str) else text)
            while b"\n\n" not in self.buf:
                chunk = self.s.recv(4096)
                if not chunk:
                    return None
                self.buf += chunk
        except (ConnectionResetError, BrokenPipeError):
            return None
        reply, self.buf = self.buf.split(b"\n\n", 1)
        return reply.decode()

    def ask(self, **attrs):
        r = self.ask_raw(policy_request(**{**self.defaults, **attrs}))
        return r[len("action="):] if r and r.startswith("action=") else r

    def close(self):
        self.s.close()


def lmtp_session(path):
    """A connected LMTP socket and a function reading one reply (its lines, CRLF stripped)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(30)
    s.connect(path)
    f = s.makefile("rb")

    def reply():
        lines = []
        while True:
            ln = f.readline().decode()
            lines.append(ln.rstrip("\r\n"))
            if len(ln) < 4 or ln[3] != "-":
                return lines
    return s, reply
