// SPDX-License-Identifier: Apache-2.0
// params.hh - vhostmail-lookupd's own parameters (lookupd_*), documented in params.cc.
#pragma once

#include <string>
#include <vector>

#include "lib/config/config.hh"
#include "lib/config/params.hh"
#include "lib/daemon/daemon.hh"

namespace vhostmail::lookupd {

void declare_params(config::param_table& table);

// The listeners the configuration asks for: tags "socketmap" and "tcp:<map>".
std::vector<listen_request> listeners(const config::config& cfg);

// Cross-parameter checks (map names, refresh interval below the staleness bound).
std::vector<std::string> validate(const config::config& cfg);

}  // namespace vhostmail::lookupd
