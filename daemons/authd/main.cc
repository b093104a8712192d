// SPDX-License-Identifier: Apache-2.0
// vhostmail-authd - SASL authentication for Postfix: Dovecot auth protocol and saslauthd protocol.
#include "lib/daemon/daemon.hh"
#include "lib/params/authd_params.hh"

#include "daemons/authd/authd_service.hh"

int main(int argc, char** argv) {
    using namespace vhostmail;
    return run_daemon(
        argc, argv,
        {.name = "vhostmail-authd",
         .params = params::authd,
         .command_user = {},  // runs no programs
         .start = [](std::shared_ptr<const config::config> cfg, metrics::registry& metrics) {
             return std::unique_ptr<service>(
                 std::make_unique<authd::authd_service>(std::move(cfg), metrics));
         }});
}
