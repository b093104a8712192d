// SPDX-License-Identifier: Apache-2.0
// daemon.hh - the life of every vhostmail daemon, in Postfix's order: flags, configuration,
// logging, listeners (inherited from systemd or bound), privilege drop, service start,
// readiness, signals (SIGHUP reload, SIGTERM/SIGINT drain and stop).
//
// Metrics: <prefix>metrics_listen (lib/daemon/metrics_endpoint.hh).
// Flags: -c FILE (default /etc/vhostmail/vhostmail.cf, if present), -o name=value (repeatable),
// -f (foreground: log to stderr), -v (verbose), -n / -d (print non-default / all parameters and
// exit, like postconf -n / -d), -t (check the configuration and the database login, and exit:
// 78 when either is wrong; an unreachable database is only warned about, since the daemon
// rides out outages). A login the database refuses is logged as an error at start and every
// 6 x db_retry_interval while it lasts (db_login.hh).
// Exit codes: 0 after a clean stop, 78 (EX_CONFIG) for configuration errors, 71 (EX_OSERR)
// when listeners cannot be opened or privileges not dropped, 70 (EX_SOFTWARE) otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/config/config.hh"
#include "lib/config/params.hh"
#include "lib/config/server_params.hh"
#include "lib/metrics/registry.hh"
#include "lib/net/connection.hh"
#include "lib/net/listener.hh"

namespace vhostmail {

// A running service: built after privileges are dropped, serves connections from many threads.
class service {
public:
    virtual ~service() = default;
    virtual void handle(net::connection& conn, const net::listener& where) = 0;
    // A new, valid configuration after SIGHUP (listener changes need a restart).
    virtual void reload(std::shared_ptr<const config::config> cfg) = 0;

    // Called once when stopping, before connections are drained.
    virtual void stop() {}
};

struct daemon_spec {
    std::string name;              // program name for logs, e.g. "vhostmail-lookupd"
    config::daemon_params params;  // lib/params: the daemon's parameters, listeners, checks
    // Daemons that run external programs: the name of the command user for programs the
    // database names ("" when none is configured), or nullopt when this configuration runs
    // no program. Their program runner (lib/os/sandbox.hh) is started before the privilege
    // drop, and only when wanted (it keeps CAP_SETUID, CAP_SETGID and CAP_KILL); a change of
    // this needs a restart.
    std::function<std::optional<std::string>(const config::config&)> command_user;
    // Builds the service (after the privilege drop), which registers its metrics in the
    // registry that <prefix>metrics_listen serves (it outlives the service). Throwing ends the
    // daemon (EX_SOFTWARE).
    std::function<std::unique_ptr<service>(std::shared_ptr<const config::config>,
                                           metrics::registry&)>
        start;
    // A daemon whose protocol library owns its listener and its signal handling (libmilter):
    // open_own binds the listener before the privilege drop (false: cannot, EX_OSERR); run_own
    // serves until the library's signal thread stops it (SIGTERM, SIGINT, and SIGHUP too: such
    // a daemon reloads by restarting) and says whether it ended cleanly. The service's handle()
    // is then never called. Without them, run_daemon opens params.listeners and serves them.
    std::function<bool(const config::config&)> open_own{};
    std::function<bool()> run_own{};
};

// Runs the daemon until SIGTERM/SIGINT and returns the process exit code.
int run_daemon(int argc, char** argv, const daemon_spec& spec);

}  // namespace vhostmail
