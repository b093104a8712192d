// SPDX-License-Identifier: Apache-2.0
// vhostmail-lookupd - Postfix tcp_table(5) and socketmap(5) server for the virtual maps.
#include "daemons/lookupd/lookupd_service.hh"
#include "daemons/lookupd/params.hh"
#include "lib/daemon/daemon.hh"

int main(int argc, char** argv) {
    using namespace vhostmail;
    return run_daemon(argc, argv,
                      {.name = "vhostmail-lookupd",
                       .prefix = "lookupd_",
                       .default_max_clients = 1000,  // one tcp connection per Postfix process/map
                       .declare_params = lookupd::declare_params,
                       .listeners = lookupd::listeners,
                       .validate = lookupd::validate,
                       .command_user = {},  // runs no programs
                       .start = [](std::shared_ptr<const config::config> cfg) {
                           return std::unique_ptr<service>(
                               std::make_unique<lookupd::lookupd_service>(std::move(cfg)));
                       }});
}
