// SPDX-License-Identifier: Apache-2.0
// authd_params.hh - vhostmail-authd's parameters (authd_*), its listeners (tags "dovecot" and
// "saslauthd") and checks. Documented in vhostmail-authd(8). The admin tool's --as signs in
// under the same throttling, so it reads the throttle limits from here too.
#pragma once

#include "lib/auth/throttle.hh"
#include "lib/config/server_params.hh"

namespace vhostmail::params {

extern const config::daemon_params authd;

// authd_throttle* as the throttling arithmetic takes them.
auth::throttle_limits authd_throttle_limits(const config::config& cfg);

// authd_hash_rounds: the cost of new hashes and of the dummy checked for unknown logins.
unsigned authd_hash_rounds(const config::config& cfg);

}  // namespace vhostmail::params
