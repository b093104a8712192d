# SPDX-License-Identifier: Apache-2.0
"""A private SMTP sink for tests: accepts every message on 127.0.0.1 and keeps it, as the relay
a Postfix instance hands outgoing mail to (relayhost = [127.0.0.1]:PORT). Enough ESMTP for
Postfix's smtp client: EHLO/HELO, MAIL, RCPT, DATA (dot-unstuffed, CRLF kept), RSET, NOOP, QUIT.

    with smtp_sink() as sink:
        ... sink.port ...
        msg = sink.wait_for(lambda m: b"Subject: x" in m.data)
"""

import socketserver
import threading
import time


class received:
    def __init__(self, sender, recipients, data):
        self.sender, self.recipients, self.data = sender, recipients, data


class _handler(socketserver.StreamRequestHandler):
    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self):
        sink = self.server.sink
        self.reply("220 sink.vhostmail.test ESMTP")
        sender, rcpts = None, []
        while True:
            line = self.rfile.readline(65536)
            if not line:
                return
            cmd = line.decode(errors="replace").strip()
            verb = cmd[:4].upper()
            if verb == "EHLO":
                self.wfile.write(b"250-sink.vhostmail.test\r\n250-8BITMIME\r\n250 SIZE 100000000\r\n")
                self.wfile.flush()
            elif verb == "HELO":
                self.reply("250 sink.vhostmail.test")
            elif verb == "MAIL":
                sender, rcpts = cmd[10:].split()[0].strip("<>") if len(cmd) > 10 else "", []
                self.reply("250 2.1.0 ok")
            elif verb == "RCPT":
                rcpts.append(cmd[8:].split()[0].strip("<>"))
                self.reply("250 2.1.5 ok")
            elif verb == "DATA":
                self.reply("354 go ahead")
                chunks = []
                while True:
                    l = self.rfile.readline()
                    if not l or l == b".\r\n":
                        break
                    chunks.append(l[1:] if l.startswith(b"..") else l)
                with sink.lock:
                    sink.messages.append(received(sender, rcpts, b"".join(chunks)))
                self.reply("250 2.0.0 kept")
            elif verb == "QUIT":
                self.reply("221 2.0.0 bye")
                return
            else:
                self.reply("250 2.0.0 ok")


class _server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class smtp_sink:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()
        self.server = _server(("127.0.0.1", 0), _handler)
        self.server.sink = self
        self.port = self.server.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, match, timeout=30):
        """The first kept message for which match(message) is true, or None after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for m in self.messages:
                    if match(m):
                        return m
            time.sleep(0.05)
        return None
