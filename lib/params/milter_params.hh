// SPDX-License-Identifier: Apache-2.0
// milter_params.hh - vhostmail-milter's parameters (milter_*), its one listener (libmilter opens
// it) and checks. Documented in vhostmail-milter(8).
#pragma once

#include "lib/config/server_params.hh"

namespace vhostmail::params {

extern const config::daemon_params milter;

}  // namespace vhostmail::params
