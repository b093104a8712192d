// SPDX-License-Identifier: Apache-2.0
// vhostmail - the admin tool: vhostmail [-c file] [-o name=value] [--json] COMMAND ARGS...
#include "daemons/admin/cli.hh"

int main(int argc, char** argv) { return vhostmail::admin::run_cli(argc, argv); }
