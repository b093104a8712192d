// SPDX-License-Identifier: Apache-2.0
// cli.hh - global options, command lookup and help for the vhostmail admin tool.
#pragma once

namespace vhostmail::admin {

int run_cli(int argc, char** argv);

}  // namespace vhostmail::admin
