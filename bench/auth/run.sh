#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/auth/run.sh - vhostmail-authd (Dovecot and saslauthd protocols) against Dovecot's auth
# server with an SQL passdb and saslauthd with pam_mysql. See README.md. Not part of the test
# suite. As root:
#
#   bench/auth/run.sh [bench_auth.py options]      e.g. --users 20 --requests 100 (quick)
#
# 1. installs what is missing (tests/support/install-deps.sh: no service is started), plus the
#    contenders dovecot-core, dovecot-mysql and libpam-mysql;
# 2. builds vhostmail-authd in release mode (build/release, VHM_BUILD_DIR overrides; never the
#    sanitized test build), under flock /tmp/vhm-build.lock;
# 3. runs bench_auth.py under the same lock, so no build or test suite competes for the CPUs.
# VHM_BENCH_NO_LOCK=1: the caller already holds /tmp/vhm-build.lock (flock(1) does not nest).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${VHM_BUILD_DIR:-$root/build/release}
lock=/tmp/vhm-build.lock

if [ "$(id -u)" != 0 ]; then
    echo "run.sh: run as root (the daemons drop privileges; packages may be installed)" >&2
    exit 1
fi
locked() {
    if [ "${VHM_BENCH_NO_LOCK:-0}" = 1 ]; then "$@"; else flock "$lock" "$@"; fi
}

"$root/tests/support/install-deps.sh" dovecot-core dovecot-mysql libpam-mysql

if [ ! -f "$build/CMakeCache.txt" ]; then
    locked cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVHOSTMAIL_TESTS=OFF
fi
if grep -q '^VHOSTMAIL_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" ||
   ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt"; then
    echo "run.sh: $build is not a plain Release build; set VHM_BUILD_DIR to one" >&2
    exit 1
fi
locked cmake --build "$build" -j2 --target vhostmail-authd
locked python3 "$here/bench_auth.py" --authd "$build/daemons/authd/vhostmail-authd" "$@"
