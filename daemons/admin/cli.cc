// SPDX-License-Identifier: Apache-2.0
// cli.cc - global options, command lookup and help (like git: help at every level).
#include "daemons/admin/cli.hh"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <sys/auxv.h>
#include <unistd.h>
#include <vector>

#include "lib/config/common_params.hh"
#include "lib/core/strings.hh"
#include "lib/startup/startup.hh"

#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

namespace {

const char* global_usage =
    "usage: vhostmail [-c config_file] [-o name=value ...] [--json]"
    " [--as LOGIN [--password-stdin]] COMMAND [ARGS]\n";

// Installed set-group-id (the group that may read the configuration with the database
// credentials), the tool serves callers who may not read it themselves: domain
// administrators. Then the caller chooses no configuration, no overrides and no environment,
// and must sign in with --as.
bool set_id_caller() {
    return getauxval(AT_SECURE) != 0;
}

// After the database connection is open, the borrowed group is given back: files named on the
// command line (imports, vacation bodies) are then read with the caller's own rights.
bool drop_set_id() {
    gid_t gid = getgid();
    uid_t uid = getuid();
    return setresgid(gid, gid, gid) == 0 && setresuid(uid, uid, uid) == 0 && getegid() == gid &&
           geteuid() == uid;
}

std::vector<command> all_commands() {
    std::vector<command> all;
    for (auto group :
         {domain_commands(), address_commands(), passwd_commands(), vacation_commands(),
          admin_commands(), resolve_commands(), check_commands(), import_commands(),
          import_layout_commands(), db_commands(), setup_commands(), dkim_commands(),
          status_commands(), srs_commands()}) {
        all.insert(all.end(), group.begin(), group.end());
    }
    return all;
}

std::vector<std::string> words_of(const std::string& path) {
    return split_list(path, " ");
}

bool has_prefix(const std::vector<std::string>& args, const std::vector<std::string>& prefix) {
    if (args.size() < prefix.size()) {
        return false;
    }
    for (size_t i = 0; i < prefix.size(); ++i) {
        if (args[i] != prefix[i]) {
            return false;
        }
    }
    return true;
}

void print_command_help(const command& c) {
    std::printf("usage: vhostmail %s%s%s\n  %s\n", c.path.c_str(), c.args.empty() ? "" : " ",
                c.args.c_str(), c.summary.c_str());
    if (!c.details.empty()) {
        std::printf("\n%s", c.details.c_str());
    }
}

// Lists the commands under `prefix` ("" = all): help for a group such as "vhostmail domain".
int print_group_help(const std::vector<command>& all, const std::vector<std::string>& prefix,
                     FILE* out) {
    std::fputs(global_usage, out);
    std::fputs("\ncommands:\n", out);
    size_t width = 0;
    for (const auto& c : all) {
        if (has_prefix(words_of(c.path), prefix)) {
            width = std::max(width, c.path.size() + 1 + c.args.size());
        }
    }
    std::string settings;  // a group's settings, listed once (domain, address)
    for (const auto& c : all) {
        if (has_prefix(words_of(c.path), prefix)) {
            std::string head = c.path + (c.args.empty() ? "" : " " + c.args);
            std::fprintf(out, "  %-*s  %s\n", static_cast<int>(width), head.c_str(),
                         c.summary.c_str());
            if (!prefix.empty() && settings.empty() && c.details.starts_with("settings")) {
                settings = c.details;
            }
        }
    }
    if (!settings.empty()) {
        std::fprintf(out, "\n%s", settings.c_str());
    }
    std::fputs("\n'vhostmail COMMAND --help' describes one command.\n", out);
    return out == stdout ? exit_ok : exit_usage;
}

}  // namespace

int run_cli(int argc, char** argv) {
    const bool set_id = set_id_caller();
    startup::config_flags flags;
    if (set_id) {
        // The configuration the group may read, and no other; missing is an error then.
        flags.take('c', std::string(config::default_config_file).c_str());
        clearenv();
        setenv("PATH", "/usr/sbin:/usr/bin:/sbin:/bin", 1);
    }
    bool json = false;
    bool password_stdin = false;
    std::optional<std::string> as_login;
    std::vector<std::string> args;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (!args.empty()) {
            args.push_back(a);  // options after the command belong to it
        } else if ((a == "-c" || a == "-o") && i + 1 < argc) {
            if (set_id) {
                std::fprintf(stderr, "vhostmail: %s is not allowed for domain administrators\n",
                             a.c_str());
                return exit_usage;
            }
            flags.take(a[1], argv[++i]);
        } else if (a == "--as" && i + 1 < argc) {
            as_login = argv[++i];
        } else if (a == "--password-stdin") {
            password_stdin = true;
        } else if (a == "--json") {
            json = true;
        } else if (a == "-h" || a == "--help" || a == "help") {
            args.push_back("--help");
        } else if (a.starts_with("-")) {
            std::fprintf(stderr, "vhostmail: unknown option %s\n%s", a.c_str(), global_usage);
            return exit_usage;
        } else {
            args.push_back(a);
        }
    }
    auto all = all_commands();
    if (args.empty() || args[0] == "--help") {
        return print_group_help(all, {}, args.empty() ? stderr : stdout);
    }
    const command* best = nullptr;
    for (const auto& c : all) {
        auto path = words_of(c.path);
        if (has_prefix(args, path) && (!best || path.size() > words_of(best->path).size())) {
            best = &c;
        }
    }
    std::vector<std::string> rest;
    if (best) {
        rest.assign(args.begin() + static_cast<long>(words_of(best->path).size()), args.end());
    }
    if (!best) {
        std::vector<std::string> prefix(args.begin(), args.end());
        bool asked = prefix.back() == "--help";
        if (asked) {
            prefix.pop_back();
        }
        // The longest start of the words that some command begins with: the word after it is
        // the wrong one ("domain frob": "frob" is no domain command).
        size_t known = 0;
        for (size_t n = prefix.size(); n > 0 && known == 0; --n) {
            std::vector<std::string> start(prefix.begin(), prefix.begin() + static_cast<long>(n));
            for (const auto& c : all) {
                if (has_prefix(words_of(c.path), start)) {
                    known = n;
                    break;
                }
            }
        }
        if (known == prefix.size()) {
            return print_group_help(all, prefix, asked ? stdout : stderr);
        }
        std::string group;
        for (size_t i = 0; i < known; ++i) {
            group += (i ? " " : "") + prefix[i];
        }
        if (known == 0) {
            std::fprintf(stderr, "vhostmail: unknown command \"%s\"\n",
                         printable(prefix[0]).c_str());
        } else {
            std::fprintf(stderr,
                         "vhostmail: unknown command \"%s\": \"%s\" is not one of the %s"
                         " commands\n",
                         printable(group + " " + prefix[known]).c_str(),
                         printable(prefix[known]).c_str(), group.c_str());
        }
        return known == 0
                   ? exit_usage
                   : print_group_help(
                         all, {prefix.begin(), prefix.begin() + static_cast<long>(known)}, stderr);
    }
    for (const auto& a : rest) {
        if (a == "--help" || a == "-h") {
            print_command_help(*best);
            return exit_ok;
        }
    }
    if (rest.size() < best->min_args || rest.size() > best->max_args) {
        std::fprintf(stderr, "usage: vhostmail %s %s\n", best->path.c_str(), best->args.c_str());
        return exit_usage;
    }
    if (password_stdin && !as_login) {
        std::fputs("vhostmail: --password-stdin is the password of --as LOGIN\n", stderr);
        return exit_usage;
    }
    if (set_id && !as_login) {
        std::fputs("vhostmail: domain administrators sign in with --as LOGIN\n", stderr);
        return exit_usage;
    }
    config::param_table table;
    config::add_common_params(table);
    declare_params(table);
    // authd's parameters are the tool's too: --as counts and honours authd's throttling.
    auto options = startup::load_options(flags, "admin_", {"authd_"});
    auto loaded = startup::load(table, options, {});
    if (!startup::report(loaded, [](bool error, const std::string& text) {
            std::fprintf(stderr, "vhostmail: %s%s\n", error ? "" : "warning: ", text.c_str());
        })) {
        return exit_failed;
    }
    context ctx(loaded.cfg, json);
    ctx.set_load_options(options);
    if (as_login) {
        if (best->superadmin_only) {
            return ctx.fail("\"" + best->path +
                            "\" is for the superadmin, not for domain"
                            " administrators");
        }
        if (int r = sign_in(ctx, *as_login, password_stdin); r != exit_ok) {
            return r;
        }
    }
    if (set_id && !drop_set_id()) {
        return ctx.fail("cannot give back the set-group-id privilege");
    }
    return best->run(ctx, rest);
}

}  // namespace vhostmail::admin
