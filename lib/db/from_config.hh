// SPDX-License-Identifier: Apache-2.0
// from_config.hh - the db_* parameters of the shared configuration as database settings
// (declared with the other shared parameters in lib/config/common_params).
#pragma once

#include <string>
#include <string_view>

#include "lib/config/config.hh"
#include "lib/db/settings.hh"

namespace vhostmail {

db::settings db_settings_from(const config::config& cfg);

// This instance's id for the counter rows it owns (docs/cluster.md rule 1): the value of the
// parameter `param` (e.g. "policyd_shard_id"), else the host name.
std::string shard_id(const config::config& cfg, std::string_view param);

}  // namespace vhostmail
