#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/scale/run.sh - the routing data at scale: memory (RSS, PSS) of the whole suite, snapshot
# load time, change-to-served latency, refresh CPU and lookups/s, for the current sources and
# optionally a baseline revision, side by side on the same database. See README.md. Not part of
# the test suite.
#
#   bench/scale/run.sh [--baseline REV] [bench_scale.py options]
#       e.g. --baseline HEAD --size 100k,   --baseline origin/main --size 1m --repeat 1
#
# 1. installs what it needs when missing (mariadb-server mariadb-client postfix python3; no
#    service is started: a temporary policy-rc.d forbids it, as in tests/support/install-deps.sh);
# 2. builds the daemons (vhostmail-lookupd -policyd -lmtpd -authd -milter) in release mode from the
#    working tree (build/release, VHM_BUILD_DIR overrides) and, with --baseline REV, from REV in a
#    git worktree of its own (build/bench-baseline/<rev>/src, built in .../release), both under
#    flock /tmp/vhm-build.lock; incremental, so quick when up to date; VHM_BENCH_NO_BUILD=1 skips
#    both (the binaries must exist); VHM_BENCH_LABEL names the current build in the report
#    (default: git describe of the working tree);
# 3. runs bench_scale.py as root (it starts everything privately, takes /tmp/vhm-build.lock while
#    measuring, and cleans up on exit, Ctrl-C and SIGTERM).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${VHM_BUILD_DIR:-$root/build/release}
lock=/tmp/vhm-build.lock
daemons="vhostmail-lookupd vhostmail-policyd vhostmail-lmtpd vhostmail-authd vhostmail-milter"

if [ "$(id -u)" != 0 ]; then
    echo "run.sh: run as root (the daemons drop privileges; packages may be installed)" >&2
    exit 1
fi

# --baseline REV is ours; everything else goes to bench_scale.py.
baseline_rev=""
n=$#
i=0
while [ $i -lt $n ]; do
    a=$1
    shift
    i=$((i + 1))
    case "$a" in
        --baseline)
            [ $i -lt $n ] || { echo "run.sh: --baseline needs a revision" >&2; exit 2; }
            baseline_rev=$1
            shift
            i=$((i + 1))
            ;;
        --baseline=*) baseline_rev=${a#--baseline=} ;;
        *) set -- "$@" "$a" ;;
    esac
done

# -- 1. packages --------------------------------------------------------------------------------
missing=""
for p in mariadb-server mariadb-client postfix python3; do
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
    if [ "$rc" != 0 ]; then
        echo "run.sh: apt-get failed ($rc)" >&2
        exit 1
    fi
fi

# -- 2. release builds --------------------------------------------------------------------------
# build_tree SOURCE BUILD_DIR WHAT: configures (every time: cheap, and a target added since the
# last run must be known to make) and builds the daemons SOURCE has, under the lock.
build_tree() {
    src=$1
    dir=$2
    what=$3
    targets=""
    for t in $daemons; do
        if grep -qs "add_executable($t " "$src"/daemons/*/CMakeLists.txt; then
            targets="$targets $t"
        fi
    done
    buildlog=$(mktemp /tmp/vhm-bench-build.XXXXXX)
    echo "run.sh: building$targets (release) for $what in $dir ..." >&2
    # shellcheck disable=SC2086
    if flock "$lock" cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=Release \
           -DVHOSTMAIL_TESTS=OFF >"$buildlog" 2>&1 &&
       flock "$lock" cmake --build "$dir" -j2 --target $targets >>"$buildlog" 2>&1; then
        rm -f "$buildlog"
        return 0
    fi
    tail -40 "$buildlog" >&2
    rm -f "$buildlog"
    if [ -x "$dir/daemons/lookupd/vhostmail-lookupd" ]; then
        echo "run.sh: WARNING: the release build of $what failed; benchmarking the binaries" \
             "left in $dir (older sources!)" >&2
        return 0
    fi
    echo "run.sh: the release build of $what failed (missing build dependencies?" \
         "tests/support/install-deps.sh installs them)" >&2
    return 1
}

if [ "${VHM_BENCH_NO_BUILD:-0}" != 1 ]; then
    build_tree "$root" "$build" "the working tree" || exit 1
fi

baseline_args=""
if [ -n "$baseline_rev" ]; then
    rev=$(git -C "$root" rev-parse --verify -q "$baseline_rev^{commit}") || {
        echo "run.sh: --baseline $baseline_rev: no such revision" >&2
        exit 2
    }
    short=$(git -C "$root" rev-parse --short=12 "$rev")
    bdir=$root/build/bench-baseline/$short
    if [ "${VHM_BENCH_NO_BUILD:-0}" != 1 ]; then
        if [ ! -e "$bdir/src/.git" ]; then
            echo "run.sh: git worktree for $baseline_rev ($short) in $bdir/src" >&2
            mkdir -p "$bdir"
            git -C "$root" worktree prune
            flock "$lock" git -C "$root" worktree add --detach "$bdir/src" "$rev" >/dev/null
        fi
        build_tree "$bdir/src" "$bdir/release" "baseline $baseline_rev ($short)" || exit 1
    fi
    baseline_args="--baseline-bin $bdir/release --baseline-label $short"
fi

# -- 3. the bench -------------------------------------------------------------------------------
current_label=${VHM_BENCH_LABEL:-$(git -C "$root" describe --always --dirty 2>/dev/null ||
                                   echo "working tree")}
# shellcheck disable=SC2086
exec python3 "$here/bench_scale.py" --current-bin "$build" --current-label "$current_label" \
    $baseline_args "$@"
