// SPDX-License-Identifier: Apache-2.0
// vhostmail-lookupd - Postfix tcp_table(5) and socketmap(5) server for the virtual maps.
#include "lib/daemon/daemon.hh"
#include "lib/params/lookupd_params.hh"

#include "daemons/lookupd/lookupd_service.hh"

int main(int argc, char** argv) {
    using namespace vhostmail;
    return run_daemon(
        argc, argv,
        {.name = "vhostmail-lookupd",
         .params = params::lookupd,
         .command_user = {},  // runs no programs
         .start = [](std::shared_ptr<const config::config> cfg, metrics::registry& metrics) {
             return std::unique_ptr<service>(
                 std::make_unique<lookupd::lookupd_service>(std::move(cfg), metrics));
         }});
}
