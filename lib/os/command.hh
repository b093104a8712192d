// SPDX-License-Identifier: Apache-2.0
// command.hh - external programs run without a shell: delivery's domain filters, fallback
// "|command"s and the sendmail that submits auto-replies, policyd's limit notices, the admin
// tool's postconf.
// Command strings are split into argv by split_command: words separated by blanks; '...' and
// "..." group (no expansion of any kind), a backslash escapes the next byte outside '...'.
// Tokens %d (domain), %u (local part), %f (envelope sender), %% ('%') are replaced inside argv
// elements after splitting, so their values can never add arguments or reach a shell.
// run_program: posix_spawn with a sanitized environment (PATH, LANG=C, and what the caller
// adds), stdin fed from memory, stdout captured up to a bound, a wall-clock time limit after
// which the whole process group is SIGKILLed, stderr to /dev/null.
// Thread safety: reentrant (posix_spawn is safe in threaded programs).
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::os {

// Pure: splits a command line; nullopt for unbalanced quotes or a trailing backslash.
std::optional<std::vector<std::string>> split_command(std::string_view line);

struct tokens {
    std::string domain;  // %d
    std::string user;    // %u
    std::string sender;  // %f
};

// Pure: replaces %d %u %f %% in each element; any other '%x' is kept as it is.
std::vector<std::string> substitute_tokens(const std::vector<std::string>& argv,
                                           const tokens& values);

struct program_result {
    enum class kind { exited, signaled, timed_out, output_too_big, failed } what = kind::failed;
    int status = 0;      // exit status or signal number
    std::string output;  // captured stdout (when asked for)
    std::string error;   // for failed: why (spawn error, ...)
};

struct program_options {
    std::chrono::milliseconds time_limit{60000};
    size_t max_output = 0;      // 0: stdout goes to /dev/null
    std::vector<std::string> env;  // extra "NAME=value" entries
};

program_result run_program(const std::vector<std::string>& argv, std::string_view input,
                           const program_options& options);

}  // namespace vhostmail::os
