// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/pipe_front.hh"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "daemons/deliver/delivery.hh"
#include "daemons/deliver/delivery_store.hh"
#include "daemons/deliver/lmtp_relay.hh"
#include "daemons/deliver/message.hh"
#include "daemons/deliver/params.hh"
#include "lib/config/common_params.hh"
#include "lib/core/exit_code.hh"
#include "lib/daemon/db_settings.hh"
#include "lib/log/log.hh"
#include "lib/os/privileges.hh"
#include "lib/vhost/sql_directory.hh"

namespace vhostmail::deliver {

namespace {

struct args {
    std::string config_file;
    bool config_given = false;
    std::vector<std::string> overrides;
    bool verbose = false;
    std::string sender;
    bool sender_given = false;
    std::string original;
    std::vector<std::string> recipients;
};

// Exits like pipe(8) expects: one line "<dsn> <text>" on stdout for failures.
int finish(int code, std::string_view dsn, std::string_view text) {
    if (code != ex_ok) {
        std::printf("%.*s %.*s\n", static_cast<int>(dsn.size()), dsn.data(),
                    static_cast<int>(text.size()), text.data());
    }
    std::fflush(stdout);
    return code;
}

bool parse_args(int argc, char** argv, args& a) {
    int opt;
    while ((opt = getopt(argc, argv, "c:o:vf:a:")) != -1) {
        switch (opt) {
            case 'c':
                a.config_file = optarg;
                a.config_given = true;
                break;
            case 'o':
                a.overrides.emplace_back(optarg);
                break;
            case 'v':
                a.verbose = true;
                break;
            case 'f':
                a.sender = optarg;
                a.sender_given = true;
                break;
            case 'a':
                a.original = optarg;
                break;
            default:
                return false;
        }
    }
    for (int i = optind; i < argc; ++i) {
        a.recipients.emplace_back(argv[i]);
    }
    if (a.sender == "<>" || a.sender == "MAILER-DAEMON") {
        a.sender.clear();  // pipe(8) null_sender
    }
    return a.sender_given && !a.recipients.empty();
}

// Reads stdin whole; false when it exceeds `max`.
bool read_message(std::string& out, size_t max) {
    char buf[65536];
    while (true) {
        ssize_t n = ::read(0, buf, sizeof buf);
        if (n == 0) {
            return true;
        }
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            throw std::runtime_error(std::string("read stdin: ") + std::strerror(errno));
        }
        if (out.size() + static_cast<size_t>(n) > max) {
            return false;
        }
        out.append(buf, static_cast<size_t>(n));
    }
}

store::maildir::hook crash_hook() {
    const char* at = std::getenv("VHOSTMAIL_TEST_CRASH_AT");
    if (at == nullptr || *at == '\0') {
        return {};
    }
    std::string stage = at;
    return [stage](std::string_view now) {
        if (now == stage) {
            ::kill(::getpid(), SIGKILL);
        }
    };
}

// The worst of several results, as one exit status: a temporary failure beats a permanent one
// beats success (pipe(8) has one status for all the recipients of one invocation).
int finish_worst(const args& a, const std::vector<delivery_result>& results, bool relayed) {
    std::optional<delivery_result> worst;
    for (size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        log::info("to=<{}>, orig_to=<{}>, from=<{}>, {}status={} {} {}", a.recipients[i],
                  a.original, a.sender, relayed ? "relay=lmtpd, " : "", r.code, r.enhanced,
                  r.text);
        if (!worst || (r.temporary() && !worst->temporary()) ||
            (worst->delivered() && !r.delivered())) {
            worst = r;
        }
    }
    return finish(worst->exit, worst->enhanced, worst->text);
}

// deliver_lmtp_relay: lmtpd's results, or nullopt when it is not reachable.
std::optional<std::vector<delivery_result>> try_relay(const args& a, const config::config& cfg,
                                                      const delivery_settings& settings,
                                                      std::string_view message) {
    std::string relay = cfg.get_string("deliver_lmtp_relay");
    if (relay.empty()) {
        return std::nullopt;
    }
    relay_request req;
    req.socket_path = relay.starts_with("unix:") ? relay.substr(5) : relay;
    req.sender = a.sender;
    req.recipients = a.recipients;
    req.original_recipient = a.original;
    req.helo_name = settings.hostname;
    auto results = relay_to_lmtpd(req, message);
    if (!results) {
        log::info("lmtpd not reachable at {}: delivering directly", relay);
    }
    return results;
}

int deliver_all(const args& a, const config::config& cfg) {
    delivery_settings settings = delivery_settings_from(cfg);
    settings.hook = crash_hook();
    std::string message;
    if (!read_message(message, cfg.get_size("deliver_max_message_size"))) {
        return finish(ex_dataerr, "5.3.4", "message too big");
    }
    if (auto relayed = try_relay(a, cfg, settings, message)) {
        return finish_worst(a, *relayed, true);
    }
    std::string base = cfg.get_string("deliver_mail_base");
    int base_fd = ::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (base_fd < 0) {
        log::error("cannot open deliver_mail_base {}: {}", base, std::strerror(errno));
        return finish(ex_tempfail, "4.3.0", "mail base unavailable");
    }
    unique_fd base_owner(base_fd);
    db::settings dbs = db_settings_from(cfg);
    dbs.pool_size = 1;
    db::pool pool(dbs);
    sql_delivery_store store(pool, settings.hostname);
    vhost::sql_directory dir(pool);
    delivery_agent agent(settings, base_fd, dir, store);
    auto headers = parse_headers(message);
    std::vector<delivery_result> results;
    for (const auto& rcpt : a.recipients) {
        results.push_back(agent.deliver({a.sender, rcpt, a.original}, message, headers));
    }
    return finish_worst(a, results, false);
}

}  // namespace

int run_pipe(int argc, char** argv) {
    // A file size limit must fail the write (EFBIG -> temporary failure), not kill us.
    ::signal(SIGXFSZ, SIG_IGN);
    try {
        args a;
        if (!parse_args(argc, argv, a)) {
            std::fprintf(stderr, "usage: vhostmail-deliver [-c config] [-o name=value] [-v]"
                                 " -f sender [-a original_recipient] [--] recipient...\n");
            return finish(ex_tempfail, "4.3.5", "bad vhostmail-deliver command line");
        }
        if (!a.config_given) {
            struct stat st {};
            if (::stat(std::string(config::default_config_file).c_str(), &st) == 0) {
                a.config_file = std::string(config::default_config_file);
            }
        }
        config::param_table table;
        config::add_common_params(table);
        declare_delivery_params(table);
        auto loaded = config::load_config(
            table, {a.config_file, a.overrides, config::other_daemon_prefixes("deliver_")});
        log::init("vhostmail-deliver", {.foreground_stderr = false, .verbose = a.verbose});
        if (loaded.errors.empty()) {
            loaded.errors = validate(*loaded.cfg);
        }
        if (!loaded.errors.empty()) {
            for (const auto& e : loaded.errors) {
                log::error("{}", e);
            }
            return finish(ex_tempfail, "4.3.5", "vhostmail-deliver configuration error");
        }
        auto dropped = os::drop_privileges(loaded.cfg->get_string(config::common::mail_owner_user));
        if (!dropped.ok) {
            log::error("cannot drop privileges: {}", dropped.error);
            return finish(ex_tempfail, "4.3.0", "cannot drop privileges");
        }
        log::init(loaded.cfg->get_string(config::common::syslog_name) + "-deliver",
                  {.foreground_stderr = false, .verbose = a.verbose});
        return deliver_all(a, *loaded.cfg);
    } catch (const std::exception& e) {
        log::error("fatal: {}", e.what());
        return finish(ex_tempfail, "4.3.0", "internal error");
    } catch (...) {
        return finish(ex_tempfail, "4.3.0", "internal error");
    }
}

}  // namespace vhostmail::deliver
