// SPDX-License-Identifier: Apache-2.0
// command.hh - external programs run without a shell: delivery's domain filters, fallback
// "|command"s and the sendmail that submits auto-replies, policyd's limit notices, the admin
// tool's postconf.
// Command strings are split into argv by split_command: words separated by blanks; '...' and
// "..." group (no expansion of any kind), a backslash escapes the next byte outside '...'.
// Tokens %d (domain), %u (local part), %f (envelope sender), %% ('%') are replaced inside argv
// elements after splitting, so their values can never add arguments, and the values are
// filtered to a safe set of characters (substitute_tokens). They are meant as data: a command
// that puts them into the script of a shell or interpreter ("sh -c '... %u'", "perl -e",
// "python3 -c") is refused (tokens_in_script); pass them as arguments instead:
// |/bin/sh -c 'exec prog "$1"' sh %u. That check catches the usual forms; the filter is what
// makes a value harmless wherever it lands.
// run_program: the program runs sandboxed (sandbox.hh: no inherited descriptors, own session,
// resource limits, its whole process tree killed at the end or at the time limit, the command
// user for programs the database names) with a sanitized environment (PATH, LANG=C, and what
// the caller adds), stdin fed from memory, stdout captured up to a bound, stderr /dev/null.
// Thread safety: reentrant once the program runner is started (sandbox.hh); single-threaded
// programs need none.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/os/program_wire.hh"

namespace vhostmail::os {

// Pure: splits a command line; nullopt for unbalanced quotes or a trailing backslash.
std::optional<std::vector<std::string>> split_command(std::string_view line);

struct tokens {
    std::string domain;  // %d
    std::string user;    // %u
    std::string sender;  // %f
};

// Postfix's command_expansion_filter default (local(8)): what a substituted value may contain.
inline constexpr std::string_view default_expansion_filter =
    "1234567890!@%-_=+:,./abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

// Pure: replaces %d %u %f %% in each element; any other '%x' is kept as it is. In each value,
// characters outside `allowed` become '_' (as Postfix's command_expansion_filter does), and so
// does a leading '-', so a value can be neither code for a shell nor an option: the values come
// from the message's envelope, which remote clients write.
std::vector<std::string> substitute_tokens(const std::vector<std::string>& argv,
                                           const tokens& values,
                                           std::string_view allowed = default_expansion_filter);

// Pure: the argument that holds a %d/%u/%f token inside the script of a shell or interpreter
// (the argument after -c or -e, or an -e/-c option bundle such as -ec, of sh, bash, dash, ksh,
// mksh, zsh, csh, tcsh, fish, busybox, perl, python*, ruby, php, node, lua*, also when started
// through env), or "" when there is none.
std::string tokens_in_script(const std::vector<std::string>& argv);

struct program_limits {
    uint64_t memory = 1ull << 30;     // address space (RLIMIT_AS); 0: none
    uint64_t file_size = 1ull << 30;  // largest file written (RLIMIT_FSIZE); 0: none
    uint32_t processes = 100;         // processes of the command user (RLIMIT_NPROC); 0: none
};

struct program_options {
    std::chrono::milliseconds time_limit{60000};
    size_t max_output = 0;         // 0: stdout goes to /dev/null
    std::vector<std::string> env;  // extra "NAME=value" entries
    // A program the database names (a domain filter, a fallback command): it runs as the
    // command user; without one it is refused unless may_run_as_self.
    bool as_command_user = false;
    bool may_run_as_self = false;
    program_limits limits;
};

program_result run_program(const std::vector<std::string>& argv, std::string_view input,
                           const program_options& options);

// Hands `message` to Postfix's sendmail(1) (`sendmail`: its argv, e.g. {"/usr/sbin/sendmail"})
// as "-i -f SENDER -- RECIPIENT...": -i so that a lone "." is text, "--" so that no recipient
// is taken for an option; sender "" is the null sender "<>". The one way the daemons submit
// mail (forwarding, auto-replies, notices). An empty `sendmail` fails without running anything.
program_result run_sendmail(const std::vector<std::string>& sendmail, std::string_view sender,
                            const std::vector<std::string>& recipients, std::string_view message,
                            const program_options& options);

// How a program ended, for a log line or a reply text: "sendmail exit status 75", "filter of
// example.com killed by signal 9", "... exceeded its time limit", "... produced too much
// output", or "<program>: <why it never ran>".
std::string outcome_text(const program_result& r, std::string_view program);

}  // namespace vhostmail::os
