// SPDX-License-Identifier: Apache-2.0
// vhostmail - the admin tool: vhostmail [-c file] [-o name=value] COMMAND ARGS...
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "daemons/admin/admin.hh"
#include "lib/config/common_params.hh"
#include "lib/core/exit_code.hh"

int main(int argc, char** argv) {
    using namespace vhostmail;
    config::load_options options;
    if (access(std::string(config::default_config_file).c_str(), R_OK) == 0) {
        options.file = std::string(config::default_config_file);
    }
    int opt;
    while ((opt = getopt(argc, argv, "+c:o:")) != -1) {
        if (opt == 'c') {
            options.file = optarg;
        } else if (opt == 'o') {
            options.overrides.emplace_back(optarg);
        } else {
            std::fputs("usage: vhostmail [-c file] [-o name=value] db migrate|status\n", stderr);
            return ex_usage;
        }
    }
    std::vector<std::string> args(argv + optind, argv + argc);
    config::param_table table;
    config::add_common_params(table);
    admin::declare_params(table);
    options.foreign_prefixes = config::other_daemon_prefixes("admin_");
    auto loaded = config::load_config(table, options);
    for (const auto& e : loaded.errors) {
        std::fprintf(stderr, "vhostmail: %s\n", e.c_str());
    }
    if (!loaded.errors.empty()) {
        return ex_config;
    }
    if (!args.empty() && args[0] == "db") {
        return admin::cmd_db(*loaded.cfg, {args.begin() + 1, args.end()});
    }
    std::fputs("usage: vhostmail [-c file] [-o name=value] db migrate|status\n", stderr);
    return ex_usage;
}
