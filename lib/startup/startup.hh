// SPDX-License-Identifier: Apache-2.0
// startup.hh - what every vhostmail program does before its own work, done one way: the -c and
// -o flags, the configuration file (the default one when it exists), loading it with the
// program's own checks, and telling what is wrong. Used by the daemons (lib/daemon), the pipe(8)
// front ends and the admin tool; needs no database.
// Thread safety: call from the main thread at start-up (and on SIGHUP).
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.hh"
#include "lib/config/params.hh"

namespace vhostmail::startup {

struct config_flags {
    std::string file;  // -c FILE
    bool file_given = false;
    std::vector<std::string> overrides;  // -o name=value, repeatable

    // Takes "-c FILE" and "-o name=value" (getopt's option letter and argument); false for
    // any other option.
    bool take(int option, const char* value);
};

// What to load: the file given with -c, else /etc/vhostmail/vhostmail.cf when it exists (no
// file: built-in defaults); the -o overrides; the other programs' parameters (not `own_prefix`,
// e.g. "lookupd_", nor those in `also_own`) accepted and ignored.
config::load_options load_options(const config_flags& flags, std::string_view own_prefix,
                                  const std::vector<std::string>& also_own = {});

using checks = std::function<std::vector<std::string>(const config::config&)>;

// Loads the configuration and, when it loaded, runs `check` (cross-parameter checks; may be
// empty) on it: their problems are errors too, and cfg is then null.
config::load_result load(const config::param_table& table, const config::load_options& options,
                         const checks& check);

// Tells each warning and error, through `say` (default: the log, log.hh); true when there were
// no errors.
using problem_sink = std::function<void(bool error, const std::string& text)>;
bool report(const config::load_result& loaded, const problem_sink& say = {});

}  // namespace vhostmail::startup
