// SPDX-License-Identifier: Apache-2.0
// pipe_common.hh - what both pipe(8) front ends share: the command line, the configuration and
// privilege drop, reading the message, and the one-line result pipe(8) reads. See
// deliver_programs.hh.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lib/config/config.hh"
#include "lib/startup/startup.hh"

#include "daemons/deliver/delivery.hh"

namespace vhostmail::deliver {

struct pipe_args {
    startup::config_flags config;
    bool verbose = false;
    std::string sender;
    bool sender_given = false;
    std::string original;
    std::vector<std::string> recipients;
};

// Exits like pipe(8) expects: one line "<dsn> <text>" on stdout for failures; returns `code`.
int pipe_finish(int code, std::string_view dsn, std::string_view text);

// The worst of several results as one exit status (a temporary failure beats a permanent one
// beats success: pipe(8) has one status for all recipients of one invocation); logs each.
int pipe_finish_worst(const pipe_args& a, const std::vector<delivery_result>& results,
                      bool relayed);

// Parses argv; on a usage error prints the usage and returns the exit code in `exit_code`.
struct pipe_start {
    pipe_args args;
    std::shared_ptr<const config::config> cfg;  // null: exit with exit_code
    int exit_code = 0;
};

// Arguments, configuration (validated), logging, privilege drop: everything before the message.
pipe_start start_pipe(int argc, char** argv);

// Runs a front end's work after start_pipe(); whatever it throws is logged and becomes a
// temporary failure ("internal error"), never a lost or bounced message.
int run_started_pipe(int argc, char** argv, const std::function<int(const pipe_start&)>& deliver);

// Reads stdin whole; false when it exceeds `max`. Throws on read errors.
bool read_message(std::string& out, size_t max);

}  // namespace vhostmail::deliver
