// SPDX-License-Identifier: Apache-2.0
// settings.hh - vhostmail-policyd's settings from its parameters (lib/params/policyd_params.hh),
// for a configuration that passed their checks.
#pragma once

#include <string>

#include "lib/config/config.hh"

#include "daemons/policyd/policy_engine.hh"
#include "daemons/policyd/policy_store.hh"

namespace vhostmail::policyd {

engine_settings engine_settings_from(const config::config& cfg);
store_settings store_settings_from(const config::config& cfg);
unsigned checks_for(const config::config& cfg, const std::string& profile);

}  // namespace vhostmail::policyd
