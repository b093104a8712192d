// SPDX-License-Identifier: Apache-2.0
// vhostmail-lmtpd - LMTP delivery server for Postfix's lmtp(8) (virtual_transport).
#include "daemons/deliver/lmtp_session.hh"
#include "daemons/deliver/params.hh"
#include "lib/daemon/daemon.hh"

int main(int argc, char** argv) {
    using namespace vhostmail;
    return run_daemon(
        argc, argv,
        {.name = "vhostmail-lmtpd",
         .prefix = "lmtpd_",
         .default_max_clients = 100,
         .declare_params = deliver::declare_lmtpd_params,
         .listeners = deliver::lmtpd_listeners,
         .validate = deliver::validate,
         .command_user =
             [](const config::config& cfg) { return cfg.get_string("deliver_command_user"); },
         .start =
             [](std::shared_ptr<const config::config> cfg) {
                 return std::unique_ptr<service>(
                     std::make_unique<deliver::lmtpd_service>(std::move(cfg)));
             }});
}
