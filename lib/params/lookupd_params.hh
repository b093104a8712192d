// SPDX-License-Identifier: Apache-2.0
// lookupd_params.hh - vhostmail-lookupd's parameters (lookupd_*), its listeners (tags
// "socketmap" and "tcp:<map>") and its checks (map names, refresh interval below the staleness
// bound). Documented in vhostmail-lookupd(8).
#pragma once

#include "lib/config/server_params.hh"

namespace vhostmail::params {

extern const config::daemon_params lookupd;

}  // namespace vhostmail::params
