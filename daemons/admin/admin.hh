// SPDX-License-Identifier: Apache-2.0
// admin.hh - the subcommands of the vhostmail admin tool. Each returns a sysexits code.
#pragma once

#include <string>
#include <vector>

#include "lib/config/config.hh"
#include "lib/config/params.hh"

namespace vhostmail::admin {

void declare_params(config::param_table& table);

int cmd_db(const config::config& cfg, const std::vector<std::string>& args);

}  // namespace vhostmail::admin
