#!/bin/sh
# demo.sh - the README's demo command: install what is missing, build (release), and run the
# demo: a private MariaDB with the schema and docs/specification.md's example data, vhostmail-lookupd,
# vhostmail-lmtpd, vhostmail-authd, vhostmail-policyd and vhostmail-milter, and a private Postfix (port 25 and submission) that
# docs/specification.md's examples are sent through; everything started is stopped. Exit status 0 only when
# every expected outcome was seen.
set -eu
cd "$(dirname "$0")/.."
tests/support/install-deps.sh
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DVHOSTMAIL_TESTS=OFF
cmake --build build/release -j"$jobs" --target vhostmail-lookupd vhostmail-lmtpd \
    vhostmail-authd vhostmail-policyd vhostmail-milter vhostmail
# Debian's python3: it has python3-dkim, which verifies the demo's signatures.
exec /usr/bin/python3 tests/demo/demo.py build/release "$PWD"
