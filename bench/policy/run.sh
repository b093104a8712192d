#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/policy/run.sh - vhostmail-policyd vs postgrey and postfwd on one request mix, measured
# with policy_client. See README.md. Not part of the test suite.
#
#   bench/policy/run.sh [bench_policy.py options]    e.g. --repeat 1, --requests 10000, --keep
#
# 1. installs what is missing (tests/support/install-deps.sh: no service is started), plus the
#    contenders postgrey and postfwd;
# 2. builds vhostmail-policyd and the admin tool `vhostmail` in release mode (build/release,
#    under flock /tmp/vhm-build.lock; incremental, so quick when up to date;
#    VHM_BENCH_NO_BUILD=1 skips it). Without policyd (not written yet, or the build failed and
#    there is no older binary) postgrey and postfwd are measured alone;
# 3. runs bench_policy.py as root (it compiles the client, starts everything privately, takes
#    /tmp/vhm-build.lock while measuring, and cleans up on exit, Ctrl-C and SIGTERM).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${VHM_BUILD_DIR:-$root/build/release}
lock=/tmp/vhm-build.lock

if [ "$(id -u)" != 0 ]; then
    echo "run.sh: run as root (policyd drops privileges to nobody; packages may be installed)" >&2
    exit 1
fi

# -- 1. packages --------------------------------------------------------------------------------
"$root/tests/support/install-deps.sh" postgrey postfwd

# -- 2. release build ---------------------------------------------------------------------------
policyd="$build/daemons/policyd/vhostmail-policyd"
admin="$build/daemons/admin/vhostmail"
if [ "${VHM_BENCH_NO_BUILD:-0}" != 1 ]; then
    if [ ! -f "$root/daemons/policyd/CMakeLists.txt" ]; then
        echo "run.sh: daemons/policyd is not in the tree yet; measuring postgrey and postfwd" >&2
        targets="vhostmail"
    else
        targets="vhostmail-policyd vhostmail"
    fi
    buildlog=$(mktemp /tmp/vhm-bench-build.XXXXXX)
    echo "run.sh: building $targets (release) in $build ..." >&2
    # shellcheck disable=SC2086
    if { [ -f "$build/CMakeCache.txt" ] ||
         flock "$lock" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
             -DVHOSTMAIL_TESTS=OFF; } >"$buildlog" 2>&1 &&
       flock "$lock" cmake --build "$build" -j2 --target $targets >>"$buildlog" 2>&1; then
        :
    else
        tail -40 "$buildlog" >&2
        if [ -x "$policyd" ] && [ -x "$admin" ]; then
            echo "run.sh: WARNING: the release build failed; benchmarking the existing" \
                 "$policyd (older sources!)" >&2
        else
            echo "run.sh: WARNING: the release build failed (missing build dependencies?" \
                 "tests/support/install-deps.sh installs them)" >&2
        fi
    fi
    rm -f "$buildlog"
fi
if [ -f "$build/CMakeCache.txt" ] &&
   { grep -q '^VHOSTMAIL_SANITIZE:BOOL=ON' "$build/CMakeCache.txt" ||
     ! grep -q '^CMAKE_BUILD_TYPE:STRING=Release' "$build/CMakeCache.txt"; }; then
    echo "run.sh: WARNING: $build is not a plain Release build (set VHM_BUILD_DIR)" >&2
fi

# -- 3. the bench -------------------------------------------------------------------------------
exec python3 "$here/bench_policy.py" --policyd "$policyd" --admin "$admin" "$@"
