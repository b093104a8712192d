# SPDX-License-Identifier: Apache-2.0
"""vhm_metrics - scrape a daemon's <daemon>_metrics_listen and read what it says.

    status, head, body = vhm_metrics.http(endpoint, "GET /metrics HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
    samples = vhm_metrics.scrape(endpoint)            # {("name", (("label", "v"), ...)): value}
    vhm_metrics.value(samples, "vhostmail_requests_total", map="mailboxes", result="found")
    vhm_metrics.promtool(body)                         # None, or what `promtool check metrics` said

endpoint: "127.0.0.1:PORT" or "unix:/path", as the daemon's configuration names it.
"""

import re
import shutil
import socket
import subprocess


def connect(endpoint, timeout=10):
    if endpoint.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(timeout)
        s.connect(endpoint[5:])
    else:
        host, port = endpoint.rsplit(":", 1)
        s = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    return s


def http(endpoint, request, timeout=10):
    """Sends request (bytes or str) and reads until the server closes: (status, head, body)."""
    s = connect(endpoint, timeout)
    try:
        s.sendall(request.encode() if isinstance(request, str) else request)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    m = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    return (int(m.group(1)) if m else 0), head.decode(errors="replace"), body.decode()


def get(endpoint, path="/metrics", method="GET"):
    return http(endpoint, f"{method} {path} HTTP/1.1\r\nHost: localhost\r\n\r\n")


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """The samples of a text exposition: {(name, ((label, value), ...) sorted): float}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE.match(line)
        if not m:
            raise ValueError(f"not a sample line: {line!r}")
        labels = tuple(sorted(_LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def scrape(endpoint):
    status, _, body = get(endpoint)
    if status != 200:
        raise RuntimeError(f"scrape of {endpoint}: HTTP {status}")
    return parse(body)


def value(samples, name, **labels):
    """The sample's value, or None when there is no such series."""
    return samples.get((name, tuple(sorted(labels.items()))))


def total(samples, name, **labels):
    """The sum over every series of name whose labels include labels."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


def promtool_missing():
    if shutil.which("promtool") is None:
        return "promtool not installed (apt-get install prometheus)"
    return None


def promtool(text):
    """None when `promtool check metrics` finds nothing, else what it said."""
    r = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True,
                       text=True)
    said = (r.stdout + r.stderr).strip()
    return None if r.returncode == 0 else said or f"exit {r.returncode}"
