// SPDX-License-Identifier: Apache-2.0
// vhostmail-milter - Postfix milter for mail submitted by the hosted domains' users: the From:
// header must belong to the SASL login, and the hosted domains' mail is DKIM-signed.
#include "lib/daemon/daemon.hh"
#include "lib/params/milter_params.hh"

#include "daemons/milter/milter_glue.hh"
#include "daemons/milter/milter_service.hh"

namespace {

using namespace vhostmail;

// libmilter serves the connections; this only owns the decisions' state.
class milter_daemon final : public service {
public:
    milter_daemon(const config::config& cfg, metrics::registry& metrics) : svc(cfg, metrics) {}

    void handle(net::connection&, const net::listener&) override {}

    void reload(std::shared_ptr<const config::config>) override {}

    void stop() override { svc.stop(); }

    milter::milter_service svc;
};

milter_daemon* running = nullptr;

}  // namespace

int main(int argc, char** argv) {
    return run_daemon(
        argc, argv,
        {.name = "vhostmail-milter",
         .params = params::milter,
         .command_user = nullptr,
         .start =
             [](std::shared_ptr<const config::config> cfg, metrics::registry& metrics) {
                 auto d = std::make_unique<milter_daemon>(*cfg, metrics);
                 running = d.get();
                 return std::unique_ptr<service>(std::move(d));
             },
         .open_own = milter::open_milter_socket,
         .run_own = [] { return milter::run_milter(running->svc); }});
}
