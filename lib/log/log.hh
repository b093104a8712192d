// SPDX-License-Identifier: Apache-2.0
// log.hh - Postfix-style logging (util/msg.c, msg_syslog.c): syslog facility mail, ident = program
// name, LOG_PID, so lines read "vhostmail-lookupd[1234]: warning: text". Severities and syslog
// priorities as in Postfix: info (no prefix, LOG_INFO), warning ("warning: ", LOG_WARNING),
// error ("error: ", LOG_ERR), fatal ("fatal: ", LOG_CRIT, then exit), debug (only when verbose;
// like Postfix's -v logging: no prefix, LOG_INFO).
// Sinks: syslog; or stderr as "program[pid]: warning: text\n" (Postfix's stderr format) with -f;
// or stderr with a "<N>" priority prefix for journald when JOURNAL_STREAM names our stderr.
// Safety: the formatted text is bounded (max_line_bytes) and control characters become '?', so
// hostile input cannot forge log lines. Nothing here logs secrets by itself: callers must not
// pass them. Format strings are checked at compile time (fmt::format_string).
// Thread safety: all functions are thread-safe; one line is one write(2) or one syslog(3) call.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/core.h>

namespace vhostmail::log {

enum class severity { info, warning, error, fatal, debug };

inline constexpr size_t max_line_bytes = 2000;  // text after "program[pid]: ", prefix included

struct options {
    bool foreground_stderr = false;  // -f: log to stderr instead of syslog
    bool verbose = false;            // -v: log debug() lines
    int facility = 2 << 3;           // LOG_MAIL (<syslog.h> stays out of this header)
    int stderr_fd = 2;               // where the stderr sinks write (tests pass a pipe)
};

// Starts logging as `program` (e.g. "vhostmail-lookupd"). Sink: journald-style stderr when the
// JOURNAL_STREAM "dev:ino" matches opts.stderr_fd, else stderr with foreground_stderr, else
// syslog (opened at once, LOG_NDELAY, so it works after chroot or privilege drop). May be called
// again, e.g. after a SIGHUP reload. Before the first call, lines go to fd 2 as "vhostmail".
void init(std::string_view program, const options& opts);

// Turns debug() lines on or off at runtime; verbose() tells whether they are on.
void set_verbose(bool on);
bool verbose();

// The syslog facility for a syslog_facility value: mail, daemon, local0..local7; else nullopt.
std::optional<int> facility_from_name(std::string_view name);

// Pure: replaces CR, LF, other bytes < 0x20 and 0x7f with '?', and cuts text longer than
// `max_bytes` at a UTF-8 character boundary, ending it in "..." (the result is <= max_bytes).
std::string sanitize(std::string_view text, size_t max_bytes = max_line_bytes);

// Logs `text` (sanitized here) with severity `s`. debug lines are dropped unless verbose().
void message(severity s, std::string_view text);

// Formats and logs; prefer the typed wrappers below.
void vlog(severity s, fmt::string_view format, fmt::format_args args);

// Logs, then std::exit(exit_code) (a sysexits code such as ex_config, or 1).
[[noreturn]] void vfatal(int exit_code, fmt::string_view format, fmt::format_args args);

template <typename... Args>
void info(fmt::format_string<Args...> format, Args&&... args) {
    vlog(severity::info, format, fmt::make_format_args(args...));
}

template <typename... Args>
void warning(fmt::format_string<Args...> format, Args&&... args) {
    vlog(severity::warning, format, fmt::make_format_args(args...));
}

template <typename... Args>
void error(fmt::format_string<Args...> format, Args&&... args) {
    vlog(severity::error, format, fmt::make_format_args(args...));
}

// Arguments are not even formatted unless verbose() is on.
template <typename... Args>
void debug(fmt::format_string<Args...> format, Args&&... args) {
    if (verbose()) {
        vlog(severity::debug, format, fmt::make_format_args(args...));
    }
}

// Logs "fatal: ..." and exits the process with `exit_code`.
template <typename... Args>
[[noreturn]] void fatal(int exit_code, fmt::format_string<Args...> format, Args&&... args) {
    vfatal(exit_code, format, fmt::make_format_args(args...));
}

}  // namespace vhostmail::log
