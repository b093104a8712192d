// SPDX-License-Identifier: Apache-2.0
// settings.hh - the delivery settings from the delivery agents' parameters
// (lib/params/delivery_params.hh).
#pragma once

#include "lib/config/config.hh"

#include "daemons/deliver/delivery.hh"

namespace vhostmail::deliver {

// The delivery settings a configuration describes (hostname defaulted from gethostname()).
delivery_settings delivery_settings_from(const config::config& cfg);

}  // namespace vhostmail::deliver
