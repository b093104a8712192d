// SPDX-License-Identifier: Apache-2.0
// policyd_params.hh - vhostmail-policyd's parameters (policyd_*), its listeners (tags "mx" and
// "submission") and checks (rate rule syntax, networks, check names, intervals). Documented in
// vhostmail-policyd(8).
#pragma once

#include "lib/config/server_params.hh"

namespace vhostmail::params {

extern const config::daemon_params policyd;

}  // namespace vhostmail::params
