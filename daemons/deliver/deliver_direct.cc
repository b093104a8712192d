// SPDX-License-Identifier: Apache-2.0
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <signal.h>
#include <string>
#include <unistd.h>
#include <vector>

#include "lib/core/dsn.hh"
#include "lib/core/exit_code.hh"
#include "lib/db/from_config.hh"
#include "lib/log/log.hh"
#include "lib/vhost/sql_directory.hh"

#include "daemons/deliver/deliver_programs.hh"
#include "daemons/deliver/delivery.hh"
#include "daemons/deliver/delivery_store.hh"
#include "daemons/deliver/message.hh"
#include "daemons/deliver/pipe_common.hh"
#include "daemons/deliver/settings.hh"

namespace vhostmail::deliver {

namespace {

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

int deliver_all(const pipe_args& a, const config::config& cfg) {
    delivery_settings settings = delivery_settings_from(cfg);
    load_srs(settings, cfg);
    settings.hook = crash_hook();
    std::string message;
    if (!read_message(message, cfg.get_size("deliver_max_message_size"))) {
        return pipe_finish(ex_dataerr, dsn::too_big.enhanced, "message too big");
    }
    std::string base = cfg.get_string("deliver_mail_base");
    int base_fd = ::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (base_fd < 0) {
        log::error("cannot open deliver_mail_base {}: {}", base, std::strerror(errno));
        return pipe_finish(ex_tempfail, dsn::local_error.enhanced, "mail base unavailable");
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
    return pipe_finish_worst(a, results, false);
}

}  // namespace

int run_pipe(int argc, char** argv) {
    // A file size limit must fail the write (EFBIG -> temporary failure), not kill us.
    ::signal(SIGXFSZ, SIG_IGN);
    return run_started_pipe(argc, argv,
                            [](const pipe_start& st) { return deliver_all(st.args, *st.cfg); });
}

}  // namespace vhostmail::deliver
