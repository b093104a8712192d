#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# fuzz_campaign.sh FUZZ_BUILD_DIR [SECONDS] [MIN_EXECS] [TARGET...]
# Runs every fuzz target (or those named) for at least SECONDS (600) and MIN_EXECS executions
# (5,000,000), two at a time at nice 19, each over a working copy of its committed corpus
# (tests/fuzz/corpus/<target>), then minimizes what it found into the committed corpus
# (libFuzzer -merge=1: the smallest set of inputs with the same coverage). Results, one line
# per target (seconds, executions, exit status), go to $OUT/results.txt; crashes stay in
# $OUT/crashes/<target>. OUT defaults to /var/tmp/vhostmail-fuzz. Not part of the test run.
# Build the targets first: cmake -S . -B build/fuzz -DVHOSTMAIL_FUZZ=ON \
#   -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang && make -C build/fuzz
set -u
build=$(cd "$1" && pwd)
seconds=${2:-600}
min_execs=${3:-5000000}
shift $(( $# < 3 ? $# : 3 ))
here=$(cd "$(dirname "$0")" && pwd)
corpora=$here/../fuzz/corpus
out=${OUT:-/var/tmp/vhostmail-fuzz}
mkdir -p "$out/logs" "$out/work" "$out/crashes"
targets=${*:-$(ls "$build/tests/fuzz" | sed -n 's/_fuzz$//p')}

run_one() {
    t=$1
    bin=$build/tests/fuzz/${t}_fuzz
    work=$out/work/$t
    mkdir -p "$work" "$out/crashes/$t"
    cp -n "$corpora/$t"/* "$work/" 2>/dev/null
    start=$(date +%s)
    cd "$out/crashes/$t" || exit 1
    nice -n 19 "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
        "$work" > "$out/logs/$t.1" 2>&1
    rc1=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$t.1")
    execs=${execs:-0}
    rc2=-
    if [ "$rc1" -eq 0 ] && [ "$execs" -lt "$min_execs" ]; then
        nice -n 19 "$bin" -runs=$((min_execs - execs)) -rss_limit_mb=2048 -print_final_stats=1 \
            "$work" > "$out/logs/$t.2" 2>&1
        rc2=$?
        more=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$t.2")
        execs=$((execs + ${more:-0}))
    fi
    echo "$t seconds=$(( $(date +%s) - start )) execs=$execs exit=$rc1/$rc2" >> "$out/results.txt"
}

minimize() {
    t=$1
    fresh=$out/min/$t
    rm -rf "$fresh" && mkdir -p "$fresh"
    "$build/tests/fuzz/${t}_fuzz" -merge=1 -rss_limit_mb=2048 "$fresh" "$corpora/$t" \
        "$out/work/$t" > "$out/logs/$t.merge" 2>&1 || return 1
    rm -f "$corpora/$t"/* && cp "$fresh"/* "$corpora/$t/"
    echo "$t corpus: $(ls "$corpora/$t" | wc -l) files" >> "$out/results.txt"
}

set -- $targets
while [ $# -gt 0 ]; do
    run_one "$1" &
    if [ $# -gt 1 ]; then
        run_one "$2" &
        shift
    fi
    shift
    wait
done
for t in $targets; do
    minimize "$t"
done
