#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/lookup/run.sh - lookupd (tcp:, socketmap:) vs Postfix's native mysql: table, measured
# with `postmap -q -`. See README.md. Not part of the test suite.
#
#   bench/lookup/run.sh [bench_lookup.py options]     e.g. --repeat 1, --keys 20000, --keep
#
# 1. installs what it compares against when missing (mariadb-server mariadb-client postfix
#    postfix-mysql postsrsd; no service is started: a temporary policy-rc.d forbids it, as in
#    tests/support/install-deps.sh);
# 2. builds vhostmail-lookupd in release mode (build/release, under flock /tmp/vhm-build.lock;
#    incremental, so quick when up to date; VHM_BENCH_NO_BUILD=1 skips it);
# 3. runs bench_lookup.py as root (it starts everything privately, takes /tmp/vhm-build.lock
#    while measuring, and cleans up on exit, Ctrl-C and SIGTERM).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${VHM_BUILD_DIR:-$root/build/release}
lock=/tmp/vhm-build.lock

if [ "$(id -u)" != 0 ]; then
    echo "run.sh: run as root (lookupd drops privileges to nobody; packages may be installed)" >&2
    exit 1
fi

# -- 1. packages --------------------------------------------------------------------------------
missing=""
for p in mariadb-server mariadb-client postfix postfix-mysql postsrsd python3; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done
if [ -n "$missing" ]; then
    echo "run.sh: installing$missing" >&2
    created_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    echo "postfix postfix/mailname string localhost" | debconf-set-selections
    rc=0
    # shellcheck disable=SC2086
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing \
          </dev/null ||
      { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing \
            </dev/null; }; } || rc=$?
    [ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d
    # postsrsd is started privately by the bench, never as the system's service.
    systemctl disable postsrsd.service >/dev/null 2>&1 || true
    if [ "$rc" != 0 ]; then
        echo "run.sh: apt-get failed ($rc)" >&2
        exit 1
    fi
fi

# -- 2. release build ---------------------------------------------------------------------------
lookupd="$build/daemons/lookupd/vhostmail-lookupd"
if [ "${VHM_BENCH_NO_BUILD:-0}" != 1 ]; then
    buildlog=$(mktemp /tmp/vhm-bench-build.XXXXXX)
    echo "run.sh: building vhostmail-lookupd (release) in $build ..." >&2
    if { [ -f "$build/CMakeCache.txt" ] ||
         flock "$lock" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
             -DVHOSTMAIL_TESTS=OFF; } >"$buildlog" 2>&1 &&
       flock "$lock" cmake --build "$build" -j2 --target vhostmail-lookupd >>"$buildlog" 2>&1; then
        :
    else
        tail -40 "$buildlog" >&2
        if [ -x "$lookupd" ]; then
            echo "run.sh: WARNING: the release build failed; benchmarking the existing" \
                 "$lookupd (older sources!)" >&2
        else
            echo "run.sh: the release build failed (missing build dependencies?" \
                 "tests/support/install-deps.sh installs them)" >&2
            rm -f "$buildlog"
            exit 1
        fi
    fi
    rm -f "$buildlog"
fi
if [ ! -x "$lookupd" ]; then
    echo "run.sh: $lookupd not found (unset VHM_BENCH_NO_BUILD to build it)" >&2
    exit 1
fi

# -- 3. the bench -------------------------------------------------------------------------------
exec python3 "$here/bench_lookup.py" --lookupd "$lookupd" "$@"
