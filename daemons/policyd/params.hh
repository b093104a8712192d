// SPDX-License-Identifier: Apache-2.0
// params.hh - vhostmail-policyd's own parameters (policyd_*), documented in params.cc.
#pragma once

#include <string>
#include <vector>

#include "daemons/policyd/policy_engine.hh"
#include "daemons/policyd/policy_store.hh"
#include "lib/config/config.hh"
#include "lib/config/params.hh"
#include "lib/daemon/daemon.hh"

namespace vhostmail::policyd {

void declare_params(config::param_table& table);

// The listeners: tag "mx" (policyd_mx_listen) or "submission" (policyd_submission_listen).
std::vector<listen_request> listeners(const config::config& cfg);

// Cross-parameter checks: rate rule syntax, networks, check names, intervals.
std::vector<std::string> validate(const config::config& cfg);

// Settings from a configuration that passed validate().
engine_settings engine_settings_from(const config::config& cfg);
store_settings store_settings_from(const config::config& cfg);
unsigned checks_for(const config::config& cfg, const std::string& profile);

}  // namespace vhostmail::policyd
