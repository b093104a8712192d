# SPDX-License-Identifier: Apache-2.0
"""vhm_dbproxy - a TCP proxy in front of a private MariaDB that can lose a COMMIT's reply.

    with vhm_dbproxy.proxy(db.port) as p:     # daemons use db_hosts = 127.0.0.1:p.port
        p.lose_next_commit_reply()            # the next COMMIT reaches the server, which
                                              # commits; then both sides are cut before the
                                              # reply reaches the client
        p.wait_tripped(timeout)               # True once that happened

It reads the client's side as MySQL packets (3-byte length, sequence number, payload) so it
can tell a COMMIT (COM_QUERY "COMMIT") apart; the server's side is copied as it comes. No TLS.
"""

import select
import socket
import threading
import time


class proxy:
    def __init__(self, upstream_port, upstream_host="127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.armed = threading.Event()
        self.tripped = threading.Event()
        self.stopping = False
        self.threads = []

    def __enter__(self):
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)
        return self

    def __exit__(self, *exc):
        self.stopping = True
        self.listener.close()

    def lose_next_commit_reply(self):
        self.tripped.clear()
        self.armed.set()

    def wait_tripped(self, timeout):
        return self.tripped.wait(timeout)

    def _accept(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            t = threading.Thread(target=self._relay, args=(client, server), daemon=True)
            t.start()

    def _relay(self, client, server):
        pending = b""  # client bytes not yet forwarded (an incomplete packet)
        try:
            while not self.stopping:
                ready, _, _ = select.select([client, server], [], [], 0.5)
                if server in ready:
                    data = server.recv(65536)
                    if not data:
                        return
                    client.sendall(data)
                if client in ready:
                    data = client.recv(65536)
                    if not data:
                        return
                    pending += data
                    while len(pending) >= 4:
                        length = int.from_bytes(pending[:3], "little")
                        if len(pending) < 4 + length:
                            break
                        packet, pending = pending[:4 + length], pending[4 + length:]
                        server.sendall(packet)
                        if self.armed.is_set() and packet[4:].upper() == b"\x03COMMIT":
                            self.armed.clear()
                            time.sleep(0.5)  # the server commits; its reply is not passed on
                            self.tripped.set()
                            return
        except OSError:
            return
        finally:
            client.close()
            server.close()
