// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/pipe_common.hh"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/config/common_params.hh"
#include "lib/core/dsn.hh"
#include "lib/core/exit_code.hh"
#include "lib/core/strings.hh"
#include "lib/log/log.hh"
#include "lib/os/privileges.hh"
#include "lib/params/delivery_params.hh"

namespace vhostmail::deliver {

namespace {

bool parse_args(int argc, char** argv, pipe_args& a) {
    int opt;
    while ((opt = getopt(argc, argv, "c:o:vf:a:")) != -1) {
        if (a.config.take(opt, optarg)) {
            continue;
        }
        switch (opt) {
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

}  // namespace

int pipe_finish(int code, std::string_view dsn, std::string_view text) {
    if (code != ex_ok) {
        std::printf("%.*s %.*s\n", static_cast<int>(dsn.size()), dsn.data(),
                    static_cast<int>(text.size()), text.data());
    }
    std::fflush(stdout);
    return code;
}

int pipe_finish_worst(const pipe_args& a, const std::vector<delivery_result>& results,
                      bool relayed) {
    std::optional<delivery_result> worst;
    for (size_t i = 0; i < results.size(); ++i) {
        const auto& r = results[i];
        log::info("to=<{}>, orig_to=<{}>, from=<{}>, {}status={} {} {}", log_field(a.recipients[i]),
                  log_field(a.original), log_field(a.sender), relayed ? "relay=lmtpd, " : "",
                  r.code, r.enhanced, r.text);
        if (!worst || (r.temporary() && !worst->temporary()) ||
            (worst->delivered() && !r.delivered())) {
            worst = r;
        }
    }
    return pipe_finish(worst->exit, worst->enhanced, worst->text);
}

pipe_start start_pipe(int argc, char** argv) {
    pipe_start st;
    pipe_args& a = st.args;
    if (!parse_args(argc, argv, a)) {
        std::fprintf(stderr, "usage: vhostmail-deliver [-c config] [-o name=value] [-v]"
                             " -f sender [-a original_recipient] [--] recipient...\n");
        st.exit_code = pipe_finish(ex_tempfail, dsn::system_config.enhanced,
                                   "bad vhostmail-deliver command line");
        return st;
    }
    config::param_table table;
    config::add_common_params(table);
    params::declare_delivery_params(table);
    auto loaded = startup::load(table, startup::load_options(a.config, "deliver_"),
                                params::validate_delivery);
    log::init("vhostmail-deliver", {.foreground_stderr = false, .verbose = a.verbose});
    if (!startup::report(loaded)) {
        st.exit_code = pipe_finish(ex_tempfail, dsn::system_config.enhanced,
                                   "vhostmail-deliver configuration error");
        return st;
    }
    auto dropped = os::drop_privileges(loaded.cfg->get_string(config::common::mail_owner_user));
    if (!dropped.ok) {
        log::error("cannot drop privileges: {}", dropped.error);
        st.exit_code =
            pipe_finish(ex_tempfail, dsn::local_error.enhanced, "cannot drop privileges");
        return st;
    }
    log::init(loaded.cfg->get_string(config::common::syslog_name) + "-deliver",
              {.foreground_stderr = false, .verbose = a.verbose});
    st.cfg = loaded.cfg;
    return st;
}

int run_started_pipe(int argc, char** argv, const std::function<int(const pipe_start&)>& deliver) {
    try {
        auto st = start_pipe(argc, argv);
        return st.cfg ? deliver(st) : st.exit_code;
    } catch (const std::exception& e) {
        log::error("fatal: {}", e.what());
    } catch (...) {
        log::error("fatal: unknown exception");
    }
    return pipe_finish(ex_tempfail, dsn::local_error.enhanced, "internal error");
}

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

}  // namespace vhostmail::deliver
