// SPDX-License-Identifier: Apache-2.0
#include "lib/startup/startup.hh"

#include <algorithm>
#include <sys/stat.h>

#include "lib/config/common_params.hh"
#include "lib/log/log.hh"

namespace vhostmail::startup {

bool config_flags::take(int option, const char* value) {
    if (option == 'c') {
        file = value;
        file_given = true;
        return true;
    }
    if (option == 'o') {
        overrides.emplace_back(value);
        return true;
    }
    return false;
}

config::load_options load_options(const config_flags& flags, std::string_view own_prefix,
                                  const std::vector<std::string>& also_own) {
    config::load_options options;
    options.file = flags.file;
    if (!flags.file_given) {
        struct stat st {};

        std::string fallback(config::default_config_file);
        options.file = ::stat(fallback.c_str(), &st) == 0 ? fallback : std::string();
    }
    options.overrides = flags.overrides;
    options.foreign_prefixes = config::other_daemon_prefixes(own_prefix);
    for (const auto& prefix : also_own) {
        std::erase(options.foreign_prefixes, prefix);
    }
    return options;
}

config::load_result load(const config::param_table& table, const config::load_options& options,
                         const checks& check) {
    auto loaded = config::load_config(table, options);
    if (loaded.cfg && check) {
        loaded.errors = check(*loaded.cfg);
        if (!loaded.errors.empty()) {
            loaded.cfg = nullptr;
        }
    }
    return loaded;
}

bool report(const config::load_result& loaded, const problem_sink& say) {
    auto tell = [&](bool error, const std::string& text) {
        if (say) {
            say(error, text);
        } else if (error) {
            log::error("{}", text);
        } else {
            log::warning("{}", text);
        }
    };
    for (const auto& w : loaded.warnings) {
        tell(false, w);
    }
    for (const auto& e : loaded.errors) {
        tell(true, e);
    }
    return loaded.errors.empty();
}

}  // namespace vhostmail::startup
