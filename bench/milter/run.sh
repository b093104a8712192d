#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/milter/run.sh - vhostmail-milter against OpenDKIM, signing with the same keys, driven
# by one milter client; the machine's RSA-2048 ceiling (openssl speed); end to end through a
# private Postfix. See README.md. Not part of the test suite.
#
#   bench/milter/run.sh [bench_milter.py options]     e.g. --quick, --seconds 3, --keep
#
# 1. installs what is missing (tests/support/install-deps.sh: no service is started), plus the
#    contender and the tools: opendkim, opendkim-tools, postfix, openssl;
# 2. builds vhostmail-milter, the admin tool `vhostmail`, vhostmail-authd (SMTP AUTH for the
#    end-to-end runs) and vhostmail-lmtpd (their delivery) in release mode (build/release,
#    VHM_BUILD_DIR overrides; under flock /tmp/vhm-build.lock; incremental, so quick when up to
#    date; VHM_BENCH_NO_BUILD=1 skips it);
# 3. runs bench_milter.py as root (it compiles the load client, starts everything privately,
#    takes /tmp/vhm-build.lock while measuring, and cleans up on exit, Ctrl-C and SIGTERM).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${VHM_BUILD_DIR:-$root/build/release}
lock=/tmp/vhm-build.lock

if [ "$(id -u)" != 0 ]; then
    echo "run.sh: run as root (the milters drop privileges; packages may be installed)" >&2
    exit 1
fi

# -- 1. packages --------------------------------------------------------------------------------
"$root/tests/support/install-deps.sh" opendkim opendkim-tools postfix openssl

# -- 2. release build ---------------------------------------------------------------------------
targets="vhostmail-milter vhostmail vhostmail-authd vhostmail-lmtpd"
if [ "${VHM_BENCH_NO_BUILD:-0}" != 1 ]; then
    buildlog=$(mktemp /tmp/vhm-bench-build.XXXXXX)
    echo "run.sh: building $targets (release) in $build ..." >&2
    # Configured every time (cheap): a target added since the last run must be known to make.
    # shellcheck disable=SC2086
    if flock "$lock" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
           -DVHOSTMAIL_TESTS=OFF >"$buildlog" 2>&1 &&
       flock "$lock" cmake --build "$build" -j2 --target $targets >>"$buildlog" 2>&1; then
        :
    else
        tail -40 "$buildlog" >&2
        echo "run.sh: WARNING: the release build failed (missing build dependencies?" \
             "tests/support/install-deps.sh installs them); binaries left from an earlier" \
             "build, if any, are measured (older sources!)" >&2
    fi
    rm -f "$buildlog"
fi
if [ -f "$build/CMakeCache.txt" ] &&
   { grep -q '^VHOSTMAIL_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" ||
     ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt"; }; then
    echo "run.sh: WARNING: $build is not a plain Release build (set VHM_BUILD_DIR)" >&2
fi

# -- 3. the bench -------------------------------------------------------------------------------
exec /usr/bin/python3 "$here/bench_milter.py" --bin "$build" "$@"
