// SPDX-License-Identifier: Apache-2.0
// vhostmail-lmtpd - LMTP delivery server for Postfix's lmtp(8) (virtual_transport).
#include "lib/daemon/daemon.hh"
#include "lib/params/delivery_params.hh"

#include "daemons/deliver/lmtp_session.hh"

int main(int argc, char** argv) {
    using namespace vhostmail;
    return run_daemon(
        argc, argv,
        {.name = "vhostmail-lmtpd",
         .params = params::lmtpd,
         .command_user =
             [](const config::config& cfg) { return cfg.get_string("deliver_command_user"); },
         .start =
             [](std::shared_ptr<const config::config> cfg, metrics::registry& metrics) {
                 return std::unique_ptr<service>(
                     std::make_unique<deliver::lmtpd_service>(std::move(cfg), metrics));
             }});
}
