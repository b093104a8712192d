// SPDX-License-Identifier: Apache-2.0
// admin.hh - the vhostmail admin tool's command table and shared context.
// Exit status of every command: 0 done, 1 failed (one-line message on stderr), 2 usage error.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "lib/config/config.hh"
#include "lib/config/params.hh"
#include "lib/config/server_params.hh"
#include "lib/db/pool.hh"
#include "lib/vhost/admin_store.hh"

namespace vhostmail::vhost {
class snapshot;
}

namespace vhostmail::admin {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;
inline constexpr int exit_usage = 2;

class context {
public:
    context(std::shared_ptr<const config::config> cfg, bool json)
        : cfg_(std::move(cfg)), json_(json) {}

    const config::config& cfg() const { return *cfg_; }

    // Where cfg() came from (file and -o overrides), for reading the daemons' own parameters.
    const config::load_options& load_options() const { return load_options_; }

    void set_load_options(config::load_options o) { load_options_ = std::move(o); }

    bool json() const { return json_; }

    // The database connection, opened on first use; null (with a message printed) on failure.
    db::connection* conn();

    // The routing data as the daemons load it, read now; null (with a message printed) on failure.
    std::shared_ptr<const vhost::snapshot> routing_snapshot();

    // Set after a domain administrator signed in (--as): what they may manage. Unset: the
    // superadmin (the full configuration, no --as), who may do everything.
    const std::optional<vhost::admin_scope>& scope() const { return scope_; }

    void restrict_to(vhost::admin_scope s) { scope_ = std::move(s); }

    // Prints "vhostmail: message" to stderr and returns exit_failed.
    int fail(const std::string& message) const;

    int fail(const vhost::admin_failure& f) const { return fail(f.message); }

private:
    std::shared_ptr<const config::config> cfg_;
    bool json_;
    std::unique_ptr<db::pool> pool_;
    std::optional<db::lease> lease_;
    std::optional<vhost::admin_scope> scope_;
    config::load_options load_options_;
};

using words = std::vector<std::string>;
using command_run = std::function<int(context& ctx, const words& args)>;

struct command {
    std::string path;  // "domain alias add"
    std::string args;  // "ALIAS DOMAIN"
    std::string summary;
    size_t min_args = 0;
    size_t max_args = 0;  // SIZE_MAX: any number
    command_run run;
    std::string details;           // extra help text (settings), may be empty
    bool superadmin_only = false;  // refused after --as without touching the database
};

// Runs op(admin_store&) over the context's connection; exit_failed if there is none.
template <typename Op>
int with_store(context& ctx, Op op) {
    db::connection* conn = ctx.conn();
    if (conn == nullptr) {
        return exit_failed;
    }
    vhost::admin_store store(*conn);
    if (ctx.scope()) {
        store.restrict_to(*ctx.scope());
    }
    return op(store);
}

// The shapes most commands have, so that such a command is one row of its table: a change of the
// store (then one line of what was done, built from the arguments), a list, one record.
using change_op =
    std::function<vhost::admin_result<vhost::done>(vhost::admin_store&, const words&)>;
using done_text = std::function<std::string(const words&)>;
// The store's calls on one and on two names, on a name with settings (name=value words after it).
using one_name_change =
    vhost::admin_result<vhost::done> (vhost::admin_store::*)(const std::string&);
using two_name_change = vhost::admin_result<vhost::done> (vhost::admin_store::*)(
    const std::string&, const std::string&);
using settings_change = vhost::admin_result<vhost::done> (vhost::admin_store::*)(
    const std::string&, const vhost::settings&);
using name_fields =
    std::function<vhost::admin_result<vhost::fields>(vhost::admin_store&, const std::string&)>;
using name_table =
    std::function<vhost::admin_result<vhost::table>(vhost::admin_store&, const std::string&)>;

command_run change(change_op op, done_text done);
command_run change(one_name_change op, done_text done);
command_run change(two_name_change op, done_text done);
command_run change(settings_change op, done_text done);
// The table for the first argument ("" when there is none).
command_run list(name_table op);
command_run show(name_fields op);

// exit_ok when the domain (or domain alias) is one the signed-in domain administrator manages,
// or nobody signed in; else exit_failed after printing why.
int require_domain(context& ctx, const std::string& domain);

// --as LOGIN: checks LOGIN's password (asked at the terminal without echo, or the first line of
// standard input) against its stored hash and restricts ctx to the domains LOGIN administers.
// exit_ok, or exit_failed after one line: the same line for an unknown login, a wrong password
// and an address without a password.
int sign_in(context& ctx, const std::string& login, bool password_from_stdin);

// The "name=value" words args[from..]; nullopt after printing the error.
std::optional<vhost::settings> settings_from(const words& args, size_t from, const context& ctx);

// The tool's table: its own admin_ parameters and those of other daemons it reads (lookupd's
// propagate_unmatched_extensions, authd's throttling and hash cost).
void declare_params(config::param_table& table);
// Only the admin_ parameters (for a table that declares every daemon's, as check does).
void declare_own_params(config::param_table& table);

// Every daemon's parameter description (lookupd, policyd, authd, lmtpd, milter), and the
// configuration file read with all of them declared, as the daemons read it (check, status).
const std::vector<const config::daemon_params*>& daemon_param_tables();
config::load_result load_daemons_config(const context& ctx);

std::vector<command> db_commands();
std::vector<command> setup_commands();
std::vector<command> domain_commands();
std::vector<command> address_commands();
std::vector<command> vacation_commands();
std::vector<command> resolve_commands();
std::vector<command> srs_commands();
std::vector<command> check_commands();
std::vector<command> admin_commands();
std::vector<command> passwd_commands();
std::vector<command> import_commands();
std::vector<command> import_layout_commands();
std::vector<command> dkim_commands();
std::vector<command> status_commands();

// Output for people (aligned) or scripts (--json).
void print_fields(const context& ctx, const vhost::fields& f);
void print_table(const context& ctx, const vhost::table& t);
int print_done(const context& ctx, const std::string& what);  // returns exit_ok
// One JSON document on one line (nlohmann/json; invalid UTF-8 becomes U+FFFD).
void print_json(const nlohmann::ordered_json& document);

// Settings help lines ("  name  help") for command details.
std::string settings_help(const std::vector<std::pair<std::string, std::string>>& help);

}  // namespace vhostmail::admin
