// SPDX-License-Identifier: Apache-2.0
// params.hh - vhostmail-authd's own parameters (authd_*), documented in params.cc.
#pragma once

#include <string>
#include <vector>

#include "lib/config/config.hh"
#include "lib/config/params.hh"
#include "lib/daemon/daemon.hh"

#include "daemons/authd/auth_service.hh"

namespace vhostmail::authd {

void declare_params(config::param_table& table);

// Listeners tagged "dovecot" and "saslauthd".
std::vector<listen_request> listeners(const config::config& cfg);

std::vector<std::string> validate(const config::config& cfg);

// The authenticator's settings from the configuration.
auth_settings auth_settings_from(const config::config& cfg);

}  // namespace vhostmail::authd
