// SPDX-License-Identifier: Apache-2.0
#include "lib/daemon/daemon.hh"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <signal.h>
#include <sys/stat.h>
#include <syslog.h>
#include <thread>
#include <unistd.h>

#include "lib/config/common_params.hh"
#include "lib/core/exit_code.hh"
#include "lib/daemon/metrics_endpoint.hh"
#include "lib/db/from_config.hh"
#include "lib/db/login_check.hh"
#include "lib/db/pool.hh"
#include "lib/log/log.hh"
#include "lib/net/server.hh"
#include "lib/os/fd_limit.hh"
#include "lib/os/notify.hh"
#include "lib/os/privileges.hh"
#include "lib/os/sandbox.hh"
#include "lib/startup/startup.hh"

namespace vhostmail {

namespace {

struct flags {
    startup::config_flags config;
    bool foreground = false;
    bool verbose = false;
    int dump = 0;  // 1: -n, 2: -d
    bool check_only = false;
};

void usage(const std::string& name) {
    std::fprintf(stderr,
                 "usage: %s [-c config_file] [-o name=value ...] [-f] [-v] [-n | -d | -t]\n",
                 name.c_str());
}

bool parse_flags(int argc, char** argv, const std::string& name, flags& f) {
    int opt;
    while ((opt = getopt(argc, argv, "c:o:fvndt")) != -1) {
        if (f.config.take(opt, optarg)) {
            continue;
        }
        switch (opt) {
            case 'f':
                f.foreground = true;
                break;
            case 'v':
                f.verbose = true;
                break;
            case 'n':
                f.dump = 1;
                break;
            case 'd':
                f.dump = 2;
                break;
            case 't':
                f.check_only = true;
                break;
            default:
                usage(name);
                return false;
        }
    }
    if (optind != argc) {
        usage(name);
        return false;
    }
    return true;
}

// The configuration with the database settings and the daemon's own checks.
config::load_result load(const daemon_spec& spec, const config::param_table& table,
                         const flags& f) {
    return startup::load(table, startup::load_options(f.config, spec.params.prefix),
                         [&spec](const config::config& cfg) {
                             std::vector<std::string> problems;
                             if (auto db = db::check_settings(db_settings_from(cfg)); !db.empty()) {
                                 problems.push_back(db);
                             }
                             auto own = config::validate_daemon_params(cfg, spec.params);
                             problems.insert(problems.end(), own.begin(), own.end());
                             return problems;
                         });
}

// Opens every requested listener; any failure is fatal for the daemon.
net::unix_socket_options unix_options(const daemon_spec& spec, const config::config& cfg) {
    std::string prefix(spec.params.prefix);
    return {cfg.get_mode(prefix + "socket_mode"), cfg.get_string(prefix + "socket_group")};
}

bool open_listeners(const daemon_spec& spec, const config::config& cfg,
                    std::vector<net::listener>& out) {
    for (const auto& request : spec.params.listeners(cfg)) {
        std::string error;
        auto where = net::parse_endpoint(request.endpoint, error);
        if (!where) {
            log::error("{}", error);
            return false;
        }
        auto opened = net::open_listener(*where, unix_options(spec, cfg), request.tag);
        if (!opened.value) {
            log::error("cannot listen on {}: {}", request.endpoint, opened.error);
            return false;
        }
        log::info("listening on {} for {}", request.endpoint, request.tag);
        out.push_back(std::move(*opened.value));
    }
    net::close_unclaimed_inherited();
    if (out.empty()) {
        log::error("nothing to listen on: configure {}'s listeners", spec.name);
        return false;
    }
    return true;
}

// Waits for signals in the main thread: SIGHUP reloads, SIGTERM/SIGINT stop.
void signal_loop(const daemon_spec& spec, const config::param_table& table, const flags& f,
                 const sigset_t& set, service& svc, net::server& srv) {
    while (true) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) {
            continue;
        }
        if (sig == SIGHUP) {
            os::notify_service_manager("RELOADING=1");
            auto loaded = load(spec, table, f);
            if (startup::report(loaded)) {
                log::set_verbose(f.verbose);
                svc.reload(loaded.cfg);
                log::info("configuration reloaded");
            } else {
                log::warning("configuration not reloaded: keeping the previous one");
            }
            os::notify_service_manager("READY=1");
            continue;
        }
        log::info("stopping on signal {}", sig);
        os::notify_service_manager("STOPPING=1");
        svc.stop();
        srv.stop();
        return;
    }
}

db_login_watch watch_login(const config::config& cfg) {
    // A refused login is told as the configuration error it is, once a minute (with the test
    // suite's 1 s db_retry_interval: every 6 s) until it works.
    return db_login_watch(db_settings_from(cfg),
                          std::max(cfg.get_duration(config::common::db_retry_interval) * 6,
                                   std::chrono::milliseconds(1000)));
}

int run_own_server(const daemon_spec& spec, const config::config& cfg, service& svc) {
    auto login_watch = watch_login(cfg);
    log::info("daemon started");
    os::notify_service_manager("READY=1");
    bool clean = spec.run_own();
    os::notify_service_manager("STOPPING=1");
    svc.stop();
    log::info("stopped");
    return clean ? ex_ok : ex_software;
}

}  // namespace

int run_daemon(int argc, char** argv, const daemon_spec& spec) {
    flags f;
    if (!parse_flags(argc, argv, spec.name, f)) {
        return ex_usage;
    }
    config::param_table table;
    config::add_common_params(table);
    config::declare_daemon_params(table, spec.params);
    auto loaded = load(spec, table, f);
    log::init(spec.name, {.foreground_stderr = f.foreground || f.check_only || f.dump != 0,
                          .verbose = f.verbose,
                          .facility = LOG_MAIL});
    if (!startup::report(loaded)) {
        return ex_config;
    }
    auto cfg = loaded.cfg;
    if (f.dump != 0) {
        std::fputs(cfg->dump(f.dump == 1).c_str(), stdout);
        return ex_ok;
    }
    if (f.check_only) {
        // -t also proves the login: a refusal would make every request a temporary failure.
        // An unreachable server is an outage, which the daemon rides out: said, not fatal.
        auto login = check_db_login(db_settings_from(*cfg));
        if (login.what == db_login::refused) {
            log::error("{}", login_refused_text(login));
            return ex_config;
        }
        if (login.what == db_login::unreachable) {
            log::warning(
                "the database cannot be reached now ({}); the daemon would start and"
                " answer temporary failures until it can",
                login.message);
        }
        return ex_ok;
    }
    log::init(cfg->get_string(config::common::syslog_name) + spec.name.substr(spec.name.find('-')),
              {.foreground_stderr = f.foreground || getenv("JOURNAL_STREAM") != nullptr,
               .verbose = f.verbose,
               .facility = log::facility_from_name(cfg->get_string(config::common::syslog_facility))
                               .value_or(LOG_MAIL)});
    const std::string prefix(spec.params.prefix);
    try {
        metrics::registry registry;
        metrics_endpoint metrics(registry, spec.name);
        // Clients, plus listeners, database connections, the routing image, logs and pipes.
        auto clients = static_cast<uint64_t>(cfg->get_int(prefix + "max_clients"));
        if (auto fds = os::ensure_fd_limit(clients + 128); !fds.error.empty()) {
            log::warning("{}: {} cannot all be served at once (raise LimitNOFILE or ulimit -n)",
                         fds.error, prefix + "max_clients");
        }
        // Before the others, which close the inherited sockets nobody claimed.
        if (!metrics.open(cfg->get_string(prefix + "metrics_listen"), unix_options(spec, *cfg))) {
            return ex_oserr;
        }
        std::vector<net::listener> listeners;
        if (spec.run_own ? !spec.open_own(*cfg) : !open_listeners(spec, *cfg, listeners)) {
            return ex_oserr;
        }
        std::string user = cfg->get_string(prefix + "user");
        if (auto command_user = spec.command_user ? spec.command_user(*cfg) : std::nullopt) {
            // Forked now: this process is still single-threaded (and still root, if it was).
            os::start_program_runner(os::resolve_command_user(*command_user, user), user);
        }
        auto dropped = os::drop_privileges(user);
        if (!dropped.ok) {
            log::error("cannot drop privileges: {}", dropped.error);
            return ex_oserr;
        }
        // Signals are handled by sigwait in this thread only; every thread started from here on
        // inherits the blocked mask.
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGHUP);
        sigaddset(&set, SIGTERM);
        sigaddset(&set, SIGINT);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        signal(SIGPIPE, SIG_IGN);
        signal(SIGXFSZ, SIG_IGN);  // a file size limit fails the write (EFBIG), not the daemon

        auto svc = spec.start(cfg, registry);
        metrics.start();

        // Scrapes read the service's metrics: they end before the service does.
        struct scrapes_end {
            metrics_endpoint& m;

            ~scrapes_end() { m.stop(); }
        } stop_scrapes_first{metrics};

        if (spec.run_own) {
            return run_own_server(spec, *cfg, *svc);
        }
        auto login_watch = watch_login(*cfg);
        net::server srv(
            std::move(listeners), static_cast<size_t>(cfg->get_int(prefix + "max_clients")),
            [&svc](net::connection& c, const net::listener& l) { svc->handle(c, l); },
            [](const std::string& w) { log::warning("{}", w); });
        auto drain = cfg->get_duration(prefix + "drain_time");
        std::thread acceptor([&srv, drain] { srv.run(drain); });
        log::info("daemon started");
        os::notify_service_manager("READY=1");
        signal_loop(spec, table, f, set, *svc, srv);
        acceptor.join();
        log::info("stopped");
        return ex_ok;
    } catch (const std::exception& e) {
        log::error("fatal: {}", e.what());
        return ex_software;
    }
}

}  // namespace vhostmail
