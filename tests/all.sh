#!/bin/sh
# all.sh - the README's test command: install what is missing, build, run every test.
#   1. clang + libFuzzer build of the pure parsers (build/fuzz), used by the fuzz smoke tests;
#   2. g++ build with ASan+UBSan and -Werror (build/test): unit tests, fuzz corpus replays,
#      fuzz smoke runs, and integration tests of the sanitized daemons against a private
#      MariaDB and a private Postfix;
#   3. the link check (build/links): every library built as a shared object linked with
#      --no-undefined, so a library that uses another without declaring it fails the run;
#   4. one ctest run over all of it (CI counts tests from its summary line).
set -eu
cd "$(dirname "$0")/.."
tests/support/install-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build/fuzz -DVHOSTMAIL_FUZZ=ON -DVHOSTMAIL_WERROR=ON \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build/fuzz -j"$jobs"

cmake -S . -B build/test -DVHOSTMAIL_SANITIZE=ON -DVHOSTMAIL_WERROR=ON -DCMAKE_BUILD_TYPE=Debug \
    -DVHOSTMAIL_FUZZ_BIN_DIR="$PWD/build/fuzz/tests/fuzz"
cmake --build build/test -j"$jobs"

libraries=$(grep -rhoE 'add_library\(vhostmail_[a-z_]+ \$' --include=CMakeLists.txt lib daemons |
    sed 's/add_library(//; s/ \$//')
cmake -S . -B build/links -DVHOSTMAIL_CHECK_LINKS=ON -DVHOSTMAIL_TESTS=OFF -DCMAKE_BUILD_TYPE=Debug
# shellcheck disable=SC2086 # one word per library target
cmake --build build/links -j"$jobs" --target $libraries

cd build/test
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    ctest --output-on-failure -j"$jobs"
