// SPDX-License-Identifier: Apache-2.0
// cmd_setup.cc - vhostmail setup: wires an installation into the system's Postfix and a local
// MariaDB, in an order that never leaves Postfix pointing at what is not there yet: Postfix's
// current settings are judged first (an admin's own values stop everything before any change),
// then the database (create, migrate, one account per daemon), then the daemons' units, then
// Postfix (saved first), then "check --postfix". Every step looks before it acts, so a second
// run changes nothing; --dry-run only looks. --undo puts the saved Postfix configuration back.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <pwd.h>
#include <set>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/encoding.hh"
#include "lib/core/strings.hh"
#include "lib/crypto/password.hh"
#include "lib/db/from_config.hh"
#include "lib/db/migrate.hh"
#include "lib/os/command.hh"

#include "daemons/admin/admin.hh"
#include "daemons/admin/file_writer.hh"
#include "daemons/admin/postfix_check.hh"
#include "daemons/admin/setup_plan.hh"

namespace vhostmail::admin {

namespace {

namespace fs = std::filesystem;

// A piece of the Postfix wiring: its snippet and the daemons it needs.
struct part {
    std::string name;
    std::vector<std::string> daemons;
    std::string snippet;  // in admin_snippet_directory
    bool master_service = false;
};

const std::vector<part>& all_parts() {
    static const std::vector<part> parts{
        {"lookup", {"lookupd"}, "main.cf.lookup", false},
        {"sasl", {"authd"}, "main.cf.sasl", false},
        {"policy", {"policyd"}, "main.cf.policy", false},
        {"lmtp", {"lmtpd"}, "master.cf.lmtp", false},  // main.cf lines despite its name
        // Before submission: the submission service gets the milter too (smtpd_milters).
        {"milter", {"milter"}, "main.cf.milter", false},
        {"submission", {"authd", "policyd"}, "master.cf.submission", true},
    };
    return parts;
}

struct setup_options {
    bool dry_run = false;
    bool force = false;
    bool undo = false;
    std::set<std::string> with;  // empty: every part whose daemons are installed
    std::string db_client_host;  // remote database: the accounts' host; "": as the server sees us
};

std::optional<std::string> read_file(const fs::path& p, std::string& error) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        error = "cannot read " + p.string();
        return std::nullopt;
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A master.cf entry with its -o options, as postconf -M takes it ("-o { name = value }" when
// the value has blanks).
std::string master_entry(const master_service& service) {
    std::string entry = service.line;
    for (const auto& [name, value] : service.overrides) {
        bool blanks = value.find_first_of(" \t") != std::string::npos;
        entry += blanks ? " -o { " + name + " = " + value + " }" : " -o " + name + "=" + value;
    }
    return entry;
}

// base64 without "+/=": a password that needs no quoting anywhere.
std::string base64url(const std::string& bytes) {
    std::string text = base64_encode(bytes);
    std::erase(text, '=');
    std::replace(text.begin(), text.end(), '+', '-');
    std::replace(text.begin(), text.end(), '/', '_');
    return text;
}

bool write_public_file(const fs::path& p, const std::string& text, std::string& error) {
    return write_file(p, text, 0644, 0, 0, error);
}

// A file only `owner` may read (0400).
bool write_private_file(const fs::path& p, const std::string& text, const std::string& owner,
                        std::string& error) {
    struct passwd* pw = ::getpwnam(owner.c_str());
    if (pw == nullptr) {
        error = "no system user " + owner;
        return false;
    }
    return write_file(p, text, 0400, pw->pw_uid, 0, error);
}

// The local server's socket when db_hosts names one (db_hosts = unix:/path), else nullopt: the
// accounts are known by the socket's peer only there, which also makes the server this host's.
std::optional<db::host_spec> local_socket(const config::config& cfg) {
    auto hosts = db_settings_from(cfg).hosts;
    auto spec = hosts.size() == 1 ? db::parse_host(hosts.front()) : std::nullopt;
    return spec && !spec->socket.empty() ? spec : std::nullopt;
}

class setup_run {
public:
    setup_run(context& ctx, setup_options o)
        : ctx_(ctx),
          o_(std::move(o)),
          cfg_(ctx.cfg()),
          socket_(local_socket(cfg_)),
          state_(cfg_.get_string("admin_state_directory")),
          postconf_(cfg_.get_string("admin_postconf_command")) {}

    int setup() {
        if (!choose_parts()) {
            return exit_usage;
        }
        // Everything about Postfix is judged before anything changes.
        if (!plan_postfix()) {
            return exit_failed;
        }
        if (!database() || !units() || !apply_postfix()) {
            return exit_failed;
        }
        if (o_.dry_run) {
            std::printf("%s\n", changes_ == 0 ? "nothing to change" : "(dry run: nothing changed)");
            return exit_ok;
        }
        std::string error;
        if (!fs::exists(state_ / "setup.done") &&
            !write_public_file(state_ / "setup.done", "", error)) {
            return ctx_.fail(error);
        }
        if (changes_ == 0) {
            std::printf("nothing to change\n");
        }
        return check_postfix();
    }

    int undo() {
        std::string error;
        auto dir = postfix_directory(error);
        if (!dir) {
            return ctx_.fail(error);
        }
        fs::path saved = state_ / "postfix-backup";
        if (!fs::exists(saved / "main.cf")) {
            std::printf("nothing to undo: no saved Postfix configuration in %s\n", saved.c_str());
            return exit_ok;
        }
        for (const char* file : {"main.cf", "master.cf"}) {
            said("restore " + (fs::path(*dir) / file).string() + " from " +
                 (saved / file).string());
            if (o_.dry_run) {
                continue;
            }
            std::error_code ec;
            fs::copy_file(saved / file, fs::path(*dir) / file, fs::copy_options::overwrite_existing,
                          ec);
            if (ec) {
                return ctx_.fail("cannot restore " + std::string(file) + ": " + ec.message());
            }
        }
        if (!o_.dry_run) {
            std::error_code ec;
            fs::remove_all(saved, ec);
            fs::remove(state_ / "postfix-applied", ec);
        }
        return reload_postfix() ? exit_ok : exit_failed;
    }

private:
    bool failed(const std::string& why) {
        ctx_.fail(why);
        return false;
    }

    // One line per change, "would ..." in a dry run.
    void said(const std::string& what) {
        std::printf("%s%s\n", o_.dry_run ? "would " : "", what.c_str());
        ++changes_;
    }

    bool installed(const std::string& daemon) const {
        return ::access(
                   (fs::path(cfg_.get_string("admin_daemon_directory")) / ("vhostmail-" + daemon))
                       .c_str(),
                   X_OK) == 0;
    }

    bool choose_parts() {
        for (const auto& p : all_parts()) {
            bool present = true;
            for (const auto& d : p.daemons) {
                present = present && installed(d);
            }
            bool asked = o_.with.empty() ? present : o_.with.count(p.name) != 0;
            if (asked && !present) {
                ctx_.fail("--with " + p.name + ": vhostmail-" + p.daemons.front() +
                          " is not installed");
                return false;
            }
            if (asked) {
                parts_.push_back(&p);
            }
        }
        for (const auto& w : o_.with) {
            bool known = false;
            for (const auto& p : all_parts()) {
                known = known || p.name == w;
            }
            if (!known) {
                ctx_.fail("--with: unknown part \"" + printable(w) +
                          "\" (lookup, sasl, policy, lmtp, milter, submission)");
                return false;
            }
        }
        return true;
    }

    std::optional<std::string> run(const std::vector<std::string>& argv, std::string& error) {
        os::program_options o;
        o.time_limit = std::chrono::seconds(120);
        o.max_output = 4 << 20;
        auto r = os::run_program(argv, "", o);
        if (r.what != os::program_result::kind::exited || r.status != 0) {
            error = os::outcome_text(r, argv.front());
            return std::nullopt;
        }
        return r.output;
    }

    std::optional<std::string> postfix_directory(std::string& error) {
        auto out = postconf_output(postconf_, "", {"-h", "config_directory"}, error);
        if (!out) {
            return std::nullopt;
        }
        return std::string(trim(*out));
    }

    // -- Postfix, judged -------------------------------------------------------------------------

    bool plan_postfix() {
        std::string error;
        auto current_text = postconf_output(postconf_, "", {"-n"}, error);
        if (!current_text) {
            return failed(error);
        }
        std::map<std::string, std::string> current;
        for (auto& [name, value] : postconf_assignments(*current_text)) {
            current[name] = value;
        }
        std::map<std::string, std::string> applied;
        if (fs::exists(state_ / "postfix-applied")) {
            auto text = read_file(state_ / "postfix-applied", error);
            auto record =
                text ? main_cf_assignments(*text, "postfix-applied", error) : std::nullopt;
            if (!record) {
                return failed(error);
            }
            applied.insert(record->begin(), record->end());
        }
        fs::path snippets = cfg_.get_string("admin_snippet_directory");
        assignments wanted;
        std::string milter_socket;
        std::vector<std::string> conflicts;
        for (const auto* p : parts_) {
            auto text = read_file(snippets / p->snippet, error);
            if (!text) {
                return failed(error);
            }
            if (p->master_service) {
                auto service = parse_master_service(*text, error);
                if (!service) {
                    return failed(p->snippet + ": " + error);
                }
                // The milter checks and signs what logged-in users submit; mail arriving on
                // port 25 does not pass it (main.cf.milter).
                if (!milter_socket.empty()) {
                    service->overrides.emplace_back("smtpd_milters", milter_socket);
                }
                if (!plan_service(*service, conflicts)) {
                    return false;
                }
                continue;
            }
            auto settings = main_cf_assignments(*text, p->snippet, error);
            if (!settings) {
                return failed(error);
            }
            for (const auto& [name, value] : *settings) {
                if (name == "non_smtpd_milters") {
                    milter_socket = value;
                }
            }
            wanted.insert(wanted.end(), settings->begin(), settings->end());
        }
        main_plan_ = plan_main_cf(current, wanted, applied, o_.force);
        conflicts.insert(conflicts.end(), main_plan_.conflicts.begin(), main_plan_.conflicts.end());
        if (!conflicts.empty()) {
            for (const auto& c : conflicts) {
                std::fprintf(stderr, "vhostmail: %s\n", c.c_str());
            }
            return failed(
                "setup leaves the Postfix settings an admin wrote alone: change "
                "them by hand, or rerun with --force to replace them (main.cf and "
                "master.cf are saved first; \"vhostmail setup --undo\" restores "
                "them)");
        }
        for (const auto& [name, value] : wanted) {
            applied[name] = value;
        }
        applied_ = applied;
        return true;
    }

    bool plan_service(const master_service& service, std::vector<std::string>& conflicts) {
        std::string error;
        std::string key = service.name + "/" + service.type;
        auto line = postconf_output(postconf_, "", {"-M", key}, error);
        if (!line) {
            return failed(error);
        }
        if (trim(*line).empty()) {
            services_.push_back({service, false});
            return true;
        }
        auto overrides = postconf_output(postconf_, "", {"-P", key}, error);
        if (!overrides) {
            return failed(error);
        }
        std::map<std::string, std::string> have;
        for (auto& [name, value] : postconf_assignments(*overrides)) {
            if (name.starts_with(key + "/")) {
                have[name.substr(key.size() + 1)] = value;
            }
        }
        if (same_master_service(*line, have, service)) {
            return true;
        }
        if (!o_.force) {
            conflicts.push_back("master.cf has its own " + key +
                                " service: " + std::string(trim(*line)));
            return true;
        }
        services_.push_back({service, true});
        return true;
    }

    // -- the database ----------------------------------------------------------------------------

    // Local: MariaDB's root through the socket (Debian's lets the system's root in by its
    // peer). Remote: the account the configuration names, which must be allowed to create
    // databases, accounts and grants.
    std::unique_ptr<db::connection> connect_admin(const std::string& database, std::string& error) {
        auto s = db_settings_from(cfg_);
        s.database = database;
        s.read_timeout = std::chrono::minutes(60);
        if (socket_) {
            s.user = "root";
            s.password.clear();
            s.option_file.clear();
            auto conn = db::connection::open(s, *socket_);
            if (conn) {
                return std::move(*conn);
            }
            error = "cannot connect to the local MariaDB as root: " + conn.error().message;
            return nullptr;
        }
        for (const auto& h : s.hosts) {
            auto spec = db::parse_host(h);
            if (!spec) {
                continue;
            }
            auto conn = db::connection::open(s, *spec);
            if (conn) {
                return std::move(*conn);
            }
            error = "cannot connect to " + h + ": " + conn.error().message;
        }
        if (error.empty()) {
            error = "db_hosts names no database server";
        }
        return nullptr;
    }

    // The host part of the daemons' accounts: "localhost" on the socket; for a remote server
    // --db-client-host, else this host as the server sees this connection.
    std::optional<std::string> account_host(db::connection& server) {
        if (socket_) {
            return std::string("localhost");
        }
        std::string host = o_.db_client_host;
        if (host.empty()) {
            auto r = server.query("SELECT SUBSTRING_INDEX(USER(), '@', -1)");
            if (!r || r->rows.empty()) {
                failed(
                    "cannot tell how the database server sees this host: give "
                    "--db-client-host");
                return std::nullopt;
            }
            host = r->rows.front().str(0);
        }
        if (!valid_account_host(host)) {
            failed("--db-client-host \"" + printable(host) + "\": a host name, address or pattern");
            return std::nullopt;
        }
        return host;
    }

    bool database() {
        std::string name = cfg_.get_string("db_name");
        if (name.empty() ||
            name.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != std::string::npos) {
            return failed("db_name \"" + printable(name) +
                          "\": setup creates databases named with letters, digits and _"
                          " only");
        }
        std::string error;
        auto server = connect_admin("", error);
        if (!server) {
            return failed(error);
        }
        auto exists =
            server->query("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                          {db::param{name}});
        if (!exists) {
            return failed("database error: " + exists.error().message);
        }
        bool created = exists->rows.front().u64(0) != 0;
        fs::path migrations = cfg_.get_string("admin_migrations_directory");
        if (!created) {
            said("create the database " + name);
            if (!o_.dry_run) {
                if (auto r = server->execute_script("CREATE DATABASE `" + name +
                                                    "` CHARACTER SET utf8mb4"
                                                    " COLLATE utf8mb4_unicode_ci");
                    !r) {
                    return failed("cannot create the database: " + r.error().message);
                }
            }
        }
        if (!created && o_.dry_run) {
            auto files = db::list_migrations(migrations);
            if (!files) {
                return failed(files.error().message);
            }
            for (const auto& f : *files) {
                said("apply the schema migration " + f.path.filename().string());
            }
        } else if (!migrate(name, migrations)) {
            return false;
        }
        return accounts(*server, name, created);
    }

    bool migrate(const std::string& name, const fs::path& migrations) {
        std::string error;
        auto conn = connect_admin(name, error);
        if (!conn) {
            return failed(error);
        }
        auto status = db::schema_status(*conn, migrations);
        if (!status) {
            return failed("database error: " + status.error().message);
        }
        for (const auto& m : *status) {
            if (!m.applied) {
                said("apply the schema migration " + m.name + " (" + std::to_string(m.version) +
                     ")");
            }
        }
        if (o_.dry_run) {
            return true;
        }
        auto r = db::migrate(*conn, migrations);
        return r ? true : failed("migration failed: " + r.error().message);
    }

    bool accounts(db::connection& server, const std::string& name, bool database_existed) {
        auto host = account_host(server);
        if (!host) {
            return false;
        }
        bool remote = !socket_;
        for (const auto& account : db_accounts()) {
            if (!installed(account.daemon)) {
                continue;
            }
            std::string grantee = "'" + account.user + "'@'" + *host + "'";
            auto known = server.query("SELECT COUNT(*) FROM mysql.user WHERE User = ? AND Host = ?",
                                      {db::param{account.user}, db::param{*host}});
            if (!known) {
                return failed("database error: " + known.error().message);
            }
            bool exists = known->rows.front().u64(0) != 0;
            if (remote ? !remote_account(server, account, grantee, exists)
                       : !exists && !socket_account(server, account, grantee)) {
                return false;
            }
            for (const auto& g : account.grants) {
                bool held = false;
                if (database_existed && exists) {
                    auto h = holds(server, grantee, name, g);
                    if (!h) {
                        return false;
                    }
                    held = *h;
                }
                if (held) {
                    continue;
                }
                std::string statement = grant_statement(g, name, account.user, *host);
                said(statement);
                if (!o_.dry_run) {
                    if (auto r = server.execute_script(statement); !r) {
                        return failed("cannot grant: " + r.error().message);
                    }
                }
            }
        }
        return true;
    }

    // A local account, known by the socket's peer: no password anywhere.
    bool socket_account(db::connection& server, const db_account& account,
                        const std::string& grantee) {
        said("create the MariaDB account " + grantee + " (authenticated as the system user " +
             account.user + ")");
        if (!o_.dry_run) {
            if (auto r = server.execute_script("CREATE USER IF NOT EXISTS " + grantee +
                                               " IDENTIFIED VIA unix_socket");
                !r) {
                return failed("cannot create " + grantee + ": " + r.error().message);
            }
        }
        return true;
    }

    // A remote account: a random password in a MariaDB option file only the daemon's user may
    // read, and a unit drop-in that hands the daemon that file instead of the configuration's
    // credentials (which are the admin's). A password is (re)set only when the account or its
    // file is missing.
    bool remote_account(db::connection& server, const db_account& account,
                        const std::string& grantee, bool exists) {
        fs::path file =
            fs::path(cfg_.get_string("admin_credentials_directory")) / (account.user + ".cnf");
        if (!exists || !fs::exists(file)) {
            said(std::string(exists ? "set a new password for" : "create") +
                 " the MariaDB account " + grantee + ", kept in " + file.string());
            if (!o_.dry_run) {
                std::string password = base64url(crypto::random_bytes(24));
                std::string identified = " IDENTIFIED BY '" + password + "'";
                if (auto r =
                        server.execute_script("CREATE USER IF NOT EXISTS " + grantee + identified +
                                              ";\nALTER USER " + grantee + identified);
                    !r) {
                    return failed("cannot create " + grantee + ": " + r.error().message);
                }
                std::string error;
                if (!write_private_file(
                        file, "[client]\nuser=" + account.user + "\npassword=" + password + "\n",
                        account.user, error)) {
                    return failed(error);
                }
                crypto::wipe(password);
            }
        }
        return unit_credentials(account, file);
    }

    bool unit_credentials(const db_account& account, const fs::path& file) {
        std::string unit = "vhostmail-" + account.daemon + ".service";
        fs::path dir = fs::path(cfg_.get_string("admin_unit_directory")) / (unit + ".d");
        fs::path dropin = dir / "vhostmail-setup.conf";
        std::string text =
            "# Written by \"vhostmail setup\": this daemon's own database account.\n"
            "[Service]\nExecStart=\nExecStart=" +
            (fs::path(cfg_.get_string("admin_daemon_directory")) / ("vhostmail-" + account.daemon))
                .string() +
            (account.start_options.empty() ? "" : " " + account.start_options) +
            " -o db_option_file=" + file.string() + " -o db_user= -o db_password=\n";
        std::string error;
        if (fs::exists(dropin)) {
            auto now = read_file(dropin, error);
            if (now && *now == text) {
                return true;
            }
        }
        said("hand " + unit + " its credentials (" + dropin.string() + ")");
        if (o_.dry_run) {
            return true;
        }
        if (!write_public_file(dropin, text, error)) {
            return failed(error);
        }
        units_changed_.insert(unit);
        return true;
    }

    // Whether `grantee` holds every privilege of `g` already.
    std::optional<bool> holds(db::connection& server, const std::string& grantee,
                              const std::string& name, const db_grant& g) {
        auto r = g.column.empty()
                     ? server.query(
                           "SELECT PRIVILEGE_TYPE FROM information_schema.TABLE_PRIVILEGES"
                           " WHERE GRANTEE = ? AND TABLE_SCHEMA = ? AND TABLE_NAME = ?",
                           {db::param{grantee}, db::param{name}, db::param{g.table}})
                     : server.query(
                           "SELECT PRIVILEGE_TYPE FROM information_schema.COLUMN_PRIVILEGES"
                           " WHERE GRANTEE = ? AND TABLE_SCHEMA = ? AND TABLE_NAME = ?"
                           " AND COLUMN_NAME = ?",
                           {db::param{grantee}, db::param{name}, db::param{g.table},
                            db::param{g.column}});
        if (!r) {
            ctx_.fail("database error: " + r.error().message);
            return std::nullopt;
        }
        std::set<std::string> have;
        for (const auto& row : r->rows) {
            have.insert(row.str(0));
        }
        for (const auto& p : g.privileges) {
            if (!have.count(p)) {
                return false;
            }
        }
        return true;
    }

    // -- the daemons -----------------------------------------------------------------------------

    bool units() {
        std::string systemctl = cfg_.get_string("admin_systemctl_command");
        std::string error;
        if (!units_changed_.empty() && !run({systemctl, "daemon-reload"}, error)) {
            return failed(error);
        }
        for (const auto& unit : units_changed_) {
            if (!run({systemctl, "try-restart", unit}, error)) {
                return failed(error);
            }
        }
        for (const auto& account : db_accounts()) {
            if (!installed(account.daemon)) {
                continue;
            }
            for (const char* kind : {".socket", ".service"}) {
                if (!account.socket_activated && std::string_view(kind) == ".socket") {
                    continue;
                }
                std::string unit = "vhostmail-" + account.daemon + kind;
                bool enabled = run({systemctl, "is-enabled", "--quiet", unit}, error).has_value();
                bool active = run({systemctl, "is-active", "--quiet", unit}, error).has_value();
                if (enabled && active) {
                    continue;
                }
                said("enable and start " + unit);
                if (!o_.dry_run && !run({systemctl, "enable", "--now", "--quiet", unit}, error)) {
                    return failed(error);
                }
            }
        }
        return true;
    }

    // -- Postfix, changed ------------------------------------------------------------------------

    bool apply_postfix() {
        if (main_plan_.changes.empty() && services_.empty()) {
            return true;
        }
        std::string error;
        auto dir = postfix_directory(error);
        if (!dir) {
            return failed(error);
        }
        fs::path saved = state_ / "postfix-backup";
        if (!fs::exists(saved / "main.cf")) {
            said("save " + *dir + "/main.cf and master.cf in " + saved.string());
            if (!o_.dry_run) {
                std::error_code ec;
                fs::create_directories(saved, ec);
                for (const char* file : {"main.cf", "master.cf"}) {
                    fs::copy_file(fs::path(*dir) / file, saved / file,
                                  fs::copy_options::overwrite_existing, ec);
                    if (ec) {
                        return failed("cannot save " + std::string(file) + ": " + ec.message());
                    }
                }
            }
        }
        std::vector<std::string> set{postconf_, "-e"};
        for (const auto& c : main_plan_.changes) {
            said("set " + c.name + " = " + c.to +
                 (c.from.empty() ? "" : " in main.cf (was: " + c.from + ")"));
            set.push_back(c.name + "=" + c.to);
        }
        if (!o_.dry_run && set.size() > 2 && !run(set, error)) {
            return failed(error);
        }
        for (const auto& [service, replace] : services_) {
            std::string key = service.name + "/" + service.type;
            said((replace ? "replace the " : "add the ") + key + " service in master.cf");
            if (o_.dry_run) {
                continue;
            }
            if (replace && !run({postconf_, "-M", "-X", key}, error)) {
                return failed(error);
            }
            // One entry with its -o options: postconf -P refuses values with blanks.
            if (!run({postconf_, "-M", key + "=" + master_entry(service)}, error)) {
                return failed(error);
            }
        }
        if (!o_.dry_run) {
            std::string record =
                "# What \"vhostmail setup\" set in main.cf: a later run may change these.\n";
            for (const auto& [name, value] : applied_) {
                record += name + " = " + value + "\n";
            }
            if (!write_public_file(state_ / "postfix-applied", record, error)) {
                return failed(error);
            }
        }
        return reload_postfix();
    }

    bool reload_postfix() {
        std::string postfix = cfg_.get_string("admin_postfix_command");
        std::string error;
        if (!run({postfix, "status"}, error)) {
            return true;  // not running: it reads the files when it starts
        }
        said("reload Postfix");
        if (!o_.dry_run && !run({postfix, "reload"}, error)) {
            return failed(error);
        }
        return true;
    }

    int check_postfix() {
        for (const auto& c : check_commands()) {
            if (c.path == "check") {
                std::printf("vhostmail check --postfix:\n");
                std::fflush(stdout);
                return c.run(ctx_, {"--postfix"});
            }
        }
        return exit_ok;
    }

    context& ctx_;
    setup_options o_;
    const config::config& cfg_;
    const std::optional<db::host_spec> socket_;  // the local server's, when it is local
    fs::path state_;
    std::string postconf_;
    std::vector<const part*> parts_;
    main_cf_plan main_plan_;
    std::vector<std::pair<master_service, bool>> services_;  // bool: replaces an existing one
    std::map<std::string, std::string> applied_;
    std::set<std::string> units_changed_;  // drop-ins written: reload, restart if running
    int changes_ = 0;
};

constexpr const char* setup_args =
    "[--dry-run] [--force] [--with PARTS] [--db-client-host HOST] | --undo";

int setup(context& ctx, const words& args) {
    setup_options o;
    for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] == "--dry-run") {
            o.dry_run = true;
        } else if (args[i] == "--force") {
            o.force = true;
        } else if (args[i] == "--undo") {
            o.undo = true;
        } else if (args[i] == "--db-client-host" && i + 1 < args.size()) {
            o.db_client_host = args[++i];
        } else if (args[i] == "--with" && i + 1 < args.size()) {
            for (const auto& p : split_list(args[++i], ", ")) {
                o.with.insert(p);
            }
        } else {
            std::fprintf(stderr, "usage: vhostmail setup %s\n", setup_args);
            return exit_usage;
        }
    }
    if (::geteuid() != 0) {
        return ctx.fail(
            "setup changes the system's Postfix, MariaDB and services: run it as "
            "root");
    }
    std::error_code ec;
    fs::create_directories(ctx.cfg().get_string("admin_state_directory"), ec);
    setup_run run(ctx, o);
    return o.undo ? run.undo() : run.setup();
}

}  // namespace

std::vector<command> setup_commands() {
    return {
        {"setup", setup_args, "wire this installation into the system's Postfix and its MariaDB", 0,
         6, setup,
         "Creates the database and one MariaDB account per installed daemon (authenticated by\n"
         "its system user, least privileges), applies the schema migrations, enables and\n"
         "starts the daemons' units, sets Postfix's parameters from the postfix-snippets of\n"
         "the installed daemons (main.cf and master.cf saved first), reloads Postfix and runs\n"
         "\"vhostmail check --postfix\". Running it again changes nothing.\n"
         "  --dry-run     print what would change, change nothing\n"
         "  --force       replace Postfix settings an admin wrote (refused otherwise)\n"
         "  --with PARTS  only these parts: lookup,sasl,policy,lmtp,submission (default: those\n"
         "                whose daemons are installed)\n"
         "  --db-client-host HOST\n"
         "                a database over TCP: the host part of the daemons' accounts (default:\n"
         "                this host as the server sees it)\n"
         "  --undo        put the saved main.cf and master.cf back and reload Postfix\n",
         true},
    };
}

}  // namespace vhostmail::admin
