// SPDX-License-Identifier: Apache-2.0
// vhostmail-policyd - Postfix SMTPD access policy server (check_policy_service) for the hosted
// domains: sending rights, rate limits, greylisting, recipient and quota checks.
#include "lib/daemon/daemon.hh"
#include "lib/params/policyd_params.hh"

#include "daemons/policyd/policyd_service.hh"

int main(int argc, char** argv) {
    using namespace vhostmail;
    return run_daemon(
        argc, argv,
        {.name = "vhostmail-policyd",
         .params = params::policyd,
         // sendmail for limit notices, when on; nothing the database names
         .command_user =
             [](const config::config& cfg) {
                 return cfg.get_bool("policyd_limit_notify") ? std::optional<std::string>("")
                                                             : std::nullopt;
             },
         .start =
             [](std::shared_ptr<const config::config> cfg, metrics::registry& metrics) {
                 return std::unique_ptr<service>(
                     std::make_unique<policyd::policyd_service>(std::move(cfg), metrics));
             }});
}
