#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# routing_diff_campaign.sh TEST_BUILD_DIR [MINUTES]
# The differential fuzz of routing, long: integration_routing_diff (the routing copy, full and
# incremental, against the SQL directory over random schema contents, random changes and the
# addresses they make) again and again with a new random seed each run, for MINUTES (30). A
# disagreement is a wrong delivery in one of them: the failing seed is printed and the run
# stops, so VHM_ROUTING_DIFF_SEED=<seed> ctest -R integration_routing_diff repeats it. Prints
# one line per seed and a summary. Not part of the test run.
set -u
build=$(cd "$1" && pwd)
minutes=${2:-30}
here=$(cd "$(dirname "$0")" && pwd)
source=$(cd "$here/../.." && pwd)
end=$(( $(date +%s) + minutes * 60 ))
runs=0
while [ "$(date +%s)" -lt "$end" ]; do
    seed=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
    log=$(mktemp)
    started=$(date +%s)
    if VHM_ROUTING_DIFF_SEED=$seed python3 "$source/tests/integration/routing/run_routing_diff_test.py" \
        "$build/tests/integration/routing/routing_diff" "$source" > "$log" 2>&1; then
        runs=$((runs + 1))
        keys=$(grep -o 'checked [0-9]* keys' "$log" | awk '{s += $2} END {print s + 0}')
        echo "seed $seed: agree ($keys keys checked, $(( $(date +%s) - started )) s)"
        rm -f "$log"
    else
        echo "seed $seed: DISAGREE or failed; log: $log"
        tail -40 "$log"
        echo "$runs seeds agreed before this one"
        exit 1
    fi
done
echo "$runs seeds, every one agreed"
