// SPDX-License-Identifier: Apache-2.0
// db_settings.hh - the db_* parameters of the shared configuration as database settings.
#pragma once

#include "lib/config/config.hh"
#include "lib/db/settings.hh"

namespace vhostmail {

db::settings db_settings_from(const config::config& cfg);

}  // namespace vhostmail
