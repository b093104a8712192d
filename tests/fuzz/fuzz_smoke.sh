#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# fuzz_smoke.sh FUZZER SEED_DIR WORK_DIR [LIBFUZZER_FLAG...]
# Runs a clang/libFuzzer binary briefly over a fresh copy of the seed corpus (libFuzzer writes
# new inputs into its first corpus directory; the sources must stay untouched). Exits 77 (CTest
# SKIP_RETURN_CODE) when the binary was not built, i.e. VHOSTMAIL_FUZZ_BIN_DIR is unset or stale.
set -eu
fuzzer=$1
seeds=$2
work=$3
shift 3
if [ -z "$fuzzer" ] || [ ! -x "$fuzzer" ]; then
    echo "fuzz_smoke: no fuzzer binary at '$fuzzer' (set VHOSTMAIL_FUZZ_BIN_DIR); skipped"
    exit 77
fi
rm -rf "$work"
mkdir -p "$work"
cp -R "$seeds"/. "$work"/
exec "$fuzzer" "$@" "$work"
