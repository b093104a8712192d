// SPDX-License-Identifier: Apache-2.0
#include "lib/log/log.hh"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <iterator>
#include <mutex>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>
#include <utility>

#include <fmt/format.h>

#include "lib/core/strings.hh"

namespace vhostmail::log {

namespace {

static_assert(LOG_MAIL == 2 << 3, "options::facility default must be LOG_MAIL");

enum class sink { stderr_plain, stderr_journal, syslog };

struct state {
    std::mutex mu;
    sink out = sink::stderr_plain;
    std::string program = "vhostmail";
    std::string ident;  // openlog(3) keeps a pointer to it: change only while closed
    int stderr_fd = 2;
    bool syslog_open = false;
};

// Never destroyed: threads may still log while static destructors run during exit.
state& global() {
    static state* s = new state();
    return *s;
}

std::atomic<bool> verbose_flag{false};

struct severity_info {
    const char* prefix;
    int priority;
};

// Postfix msg_syslog.c: info, warn, error, fatal, panic -> INFO, WARNING, ERR, CRIT, CRIT.
severity_info describe(severity s) {
    switch (s) {
        case severity::info:
        case severity::debug:
            return {"", LOG_INFO};
        case severity::warning:
            return {"warning: ", LOG_WARNING};
        case severity::error:
            return {"error: ", LOG_ERR};
        case severity::fatal:
            return {"fatal: ", LOG_CRIT};
    }
    return {"", LOG_INFO};
}

// systemd.exec(5): JOURNAL_STREAM="dev:ino" of the stream connected to the journal. Checking
// that it is still our stderr avoids prefixes in output redirected by a child of the service.
bool stderr_is_journal(int fd) {
    const char* env = std::getenv("JOURNAL_STREAM");
    if (env == nullptr || *env == '\0') {
        return false;
    }

    struct stat st {};

    if (::fstat(fd, &st) != 0) {
        return false;
    }
    return fmt::format("{}:{}", st.st_dev, st.st_ino) == env;
}

void write_all(int fd, std::string_view line) {
    while (!line.empty()) {
        auto n = ::write(fd, line.data(), line.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return;  // nowhere left to report it
        }
        line.remove_prefix(static_cast<size_t>(n));
    }
}

}  // namespace

void init(std::string_view program, const options& opts) {
    auto& st = global();
    std::lock_guard lock(st.mu);
    if (st.syslog_open) {
        ::closelog();
        st.syslog_open = false;
    }
    st.program = std::string(program);
    st.stderr_fd = opts.stderr_fd;
    if (stderr_is_journal(opts.stderr_fd)) {
        st.out = sink::stderr_journal;
    } else if (opts.foreground_stderr) {
        st.out = sink::stderr_plain;
    } else {
        st.out = sink::syslog;
        st.ident = st.program;
        ::openlog(st.ident.c_str(), LOG_PID | LOG_NDELAY, opts.facility);
        st.syslog_open = true;
    }
    verbose_flag.store(opts.verbose, std::memory_order_relaxed);
}

void set_verbose(bool on) {
    verbose_flag.store(on, std::memory_order_relaxed);
}

bool verbose() {
    return verbose_flag.load(std::memory_order_relaxed);
}

std::optional<int> facility_from_name(std::string_view name) {
    static constexpr std::pair<std::string_view, int> names[] = {
        {"mail", LOG_MAIL},     {"daemon", LOG_DAEMON}, {"local0", LOG_LOCAL0},
        {"local1", LOG_LOCAL1}, {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
        {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5}, {"local6", LOG_LOCAL6},
        {"local7", LOG_LOCAL7},
    };
    for (const auto& [n, facility] : names) {
        if (n == name) {
            return facility;
        }
    }
    return std::nullopt;
}

std::string sanitize(std::string_view text, size_t max_bytes) {
    const std::string_view ellipsis = "...";
    bool cut = text.size() > max_bytes;
    if (cut) {
        size_t keep = max_bytes > ellipsis.size() ? max_bytes - ellipsis.size() : 0;
        // Back up over UTF-8 continuation bytes (10xxxxxx) so no character is split.
        while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xc0) == 0x80) {
            --keep;
        }
        text = text.substr(0, keep);
    }
    std::string out = printable(text);
    if (cut) {
        out.append(ellipsis.substr(0, max_bytes - out.size()));
    }
    return out;
}

void message(severity s, std::string_view text) {
    if (s == severity::debug && !verbose()) {
        return;
    }
    int saved_errno = errno;  // like Postfix msg_*: logging must not disturb errno
    auto [prefix, priority] = describe(s);
    std::string body = prefix;
    body += sanitize(text, max_line_bytes - body.size());

    auto& st = global();
    std::lock_guard lock(st.mu);
    if (st.out == sink::syslog) {
        ::syslog(priority, "%s", body.c_str());
    } else {
        std::string line;
        if (st.out == sink::stderr_journal) {
            line = fmt::format("<{}>", priority);  // sd-daemon(3) level prefix
        }
        line += fmt::format("{}[{}]: {}\n", st.program, ::getpid(), body);
        write_all(st.stderr_fd, line);
    }
    errno = saved_errno;
}

void vlog(severity s, fmt::string_view format, fmt::format_args args) {
    fmt::memory_buffer buf;
    try {
        fmt::vformat_to(std::back_inserter(buf), format, args);
    } catch (const std::exception& e) {
        // Only runtime-checked specs (e.g. a dynamic width) can fail; keep the event anyway.
        buf.clear();
        fmt::format_to(std::back_inserter(buf), "log format error ({}) in \"{}\"", e.what(),
                       std::string_view(format.data(), format.size()));
    }
    message(s, std::string_view(buf.data(), buf.size()));
}

void vfatal(int exit_code, fmt::string_view format, fmt::format_args args) {
    vlog(severity::fatal, format, args);
    std::exit(exit_code);
}

}  // namespace vhostmail::log
