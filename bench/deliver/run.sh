#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# bench/deliver/run.sh - delivery rates (see README.md). Not part of the test suite. As root:
#   bench/deliver/run.sh [bench_deliver.py options]
# Installs what is missing (tests/support/install-deps.sh: no service is started), plus what it
# compares against: dovecot-lmtpd (Dovecot's LMTP server; dovecot-lda comes with dovecot-core);
# postfix-mysql and smtp-source come with the test dependencies. Builds a release build in
# build/deliver-release (VHM_BUILD_DIR overrides).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
"$root/tests/support/install-deps.sh" dovecot-lmtpd
build=${VHM_BUILD_DIR:-$root/build/deliver-release}
lock=/tmp/vhm-build.lock
# Configure every time (cheap): a target added since the last run must be known to make.
flock "$lock" cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DVHOSTMAIL_TESTS=OFF >/dev/null
flock "$lock" cmake --build "$build" -j2 --target vhostmail-lmtpd vhostmail-deliver vhostmail-deliver-direct \
    vhostmail-lookupd vhostmail
exec flock "$lock" python3 "$here/bench_deliver.py" --bin "$build" "$@"
