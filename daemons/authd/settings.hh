// SPDX-License-Identifier: Apache-2.0
// settings.hh - vhostmail-authd's settings from its parameters (lib/params/authd_params.hh).
#pragma once

#include "lib/config/config.hh"

#include "daemons/authd/auth_service.hh"

namespace vhostmail::authd {

auth_settings auth_settings_from(const config::config& cfg);

}  // namespace vhostmail::authd
