// SPDX-License-Identifier: Apache-2.0
// cmd_check.cc - vhostmail check: configuration, database, schema version, and routing problems
// an admin wants to hear about before their users do.
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <sys/stat.h>
#include <tuple>

#include "lib/config/common_params.hh"
#include "lib/daemon/daemon.hh"
#include "lib/db/from_config.hh"
#include "lib/db/migrate.hh"
#include "lib/params/authd_params.hh"
#include "lib/params/delivery_params.hh"
#include "lib/params/lookupd_params.hh"
#include "lib/params/milter_params.hh"
#include "lib/params/policyd_params.hh"
#include "lib/proto/tcp_table.hh"
#include "lib/vhost/lookup_maps.hh"
#include "lib/vhost/mailbox_usage.hh"
#include "lib/vhost/resolver.hh"
#include "lib/vhost/routing_settings.hh"
#include "lib/vhost/snapshot_loader.hh"

#include "daemons/admin/admin.hh"
#include "daemons/admin/postfix_check.hh"

namespace vhostmail::admin {

namespace {

struct findings {
    std::vector<finding> all;

    void add(std::string p) { all.push_back({true, std::move(p)}); }

    void warn(std::string p) { all.push_back({false, std::move(p)}); }

    size_t errors() const {
        return static_cast<size_t>(
            std::count_if(all.begin(), all.end(), [](const auto& f) { return f.error; }));
    }
};

void check_schema(context& ctx, db::connection& conn, findings& out) {
    auto status = db::schema_status(conn, ctx.cfg().get_string("admin_migrations_directory"));
    if (!status) {
        out.add("cannot read the schema version: " + status.error().message);
        return;
    }
    for (const auto& m : *status) {
        if (!m.applied) {
            out.add("schema migration " + std::to_string(m.version) + " (" + m.name +
                    ") is not applied: run \"vhostmail db migrate\"");
        } else if (!m.file_present) {
            out.add("the database has schema version " + std::to_string(m.version) +
                    ", newer than this software knows");
        }
    }
}

void check_routing(context& ctx, const std::shared_ptr<const vhost::snapshot>& snap,
                   findings& out) {
    vhost::resolve_options options = vhost::routing_options(ctx.cfg());
    options.now = std::time(nullptr);
    vhost::snapshot_directory dir(snap);
    snap->for_each_domain([&](const vhost::domain_segment& seg) {
        std::string name(seg.domain().name);
        if (!seg.domain().enabled || (ctx.scope() && !ctx.scope()->domains.contains(name))) {
            return;
        }
        for (const char* role : {"postmaster", "abuse"}) {
            auto r = vhost::resolve(dir, std::string(role) + "@" + name, options);
            if (r.status == lookup_status::not_found) {
                out.add(std::string(role) + "@" + name + " has no destination (RFC 5321/2142)");
            }
        }
        seg.for_each_address([&](const vhost::address_view& address) {
            std::string self = std::string(address.local_part) + "@" + name;
            for (std::string_view forward : address.forwards) {
                std::string target(forward);
                vhost::resolve_options explicit_only = options;
                explicit_only.use_fallback = false;
                auto r = vhost::resolve(dir, target, explicit_only);
                bool hosted = target.find('@') != std::string::npos &&
                              dir.find_domain(target.substr(target.rfind('@') + 1)).ok();
                if (hosted && r.status == lookup_status::not_found) {
                    // The resolver's first dead end says why: missing, disabled, a loop...
                    bool missing = r.reason.starts_with("no address ");
                    out.add(self + " forwards to " + target +
                            (missing ? ", which does not exist"
                                     : ", which leads nowhere: " + r.reason));
                }
            }
            auto aliases = vhost::answer(vhost::map_kind::aliases, self, dir, options);
            if (aliases.ok() && !proto::tcp_table_answer_fits(aliases.value)) {
                out.warn(self + ": its aliases answer (" + std::to_string(aliases.value.size()) +
                         " bytes) is too long for tcp_table: serve virtual_alias_maps over"
                         " socketmap (postfix-snippets/main.cf.lookup), or Postfix defers its"
                         " mail for ever");
            }
            auto r = vhost::resolve(dir, self, options);
            for (const auto& step : r.trace) {
                if (step.find("alias loop") != std::string::npos) {
                    out.add(self + ": " + step.substr(step.find("alias loop")));
                    break;
                }
            }
        });
    });
}

// Files that hold the database password must not be readable by every local user: any of them
// could log in to the database as the daemons (or as the admin) with it.
void check_secret_files(context& ctx, findings& out) {
    auto exposed = [&](const std::string& path, const char* what) {
        struct stat st {};
        if (path.empty() || ::stat(path.c_str(), &st) != 0) {
            return;
        }
        if ((st.st_mode & S_IROTH) != 0) {
            out.warn(path + " holds " + what + " and is readable by every local user: chmod o-r " +
                     "(mode 0640, group of the daemons that read it)");
        }
    };
    if (!ctx.cfg().get_string(config::common::db_password).empty()) {
        exposed(ctx.load_options().file, "db_password");
    }
    exposed(ctx.cfg().get_string(config::common::db_option_file), "database credentials");
}

// "1.5 GiB" for people.
std::string size_text(uint64_t bytes) {
    const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
    double v = static_cast<double>(bytes);
    size_t u = 0;
    while (v >= 1024 && u + 1 < std::size(units)) {
        v /= 1024;
        ++u;
    }
    char buf[32];
    std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
    return buf;
}

// Mailboxes whose newest recorded usage (lib/vhost/mailbox_usage) has reached their quota
// (vhost::mailbox_quota: the address's own, else the domain's default).
void check_quotas(context& ctx, db::connection& conn, const vhost::snapshot& snap, findings& out) {
    auto usage = vhost::read_all_mailbox_usage(conn);
    if (!usage) {
        out.add("cannot read the mailbox usage: " + usage.error().message);
        return;
    }
    std::vector<std::tuple<std::string, std::string, std::string>> over;  // domain, local, what
    snap.for_each_domain([&](const vhost::domain_segment& seg) {
        std::string name(seg.domain().name);
        if (ctx.scope() && !ctx.scope()->domains.contains(name)) {
            return;
        }
        seg.for_each_address([&](const vhost::address_view& a) {
            std::string local(a.local_part);
            auto used = a.mailbox ? usage->find(a.id) : usage->end();
            if (used == usage->end()) {
                return;
            }
            auto quota = vhost::mailbox_quota(seg.domain(), a);
            const auto& u = used->second;
            // Full = one more message would not fit (store::exceeds, as delivery decides).
            if (store::exceeds({quota.bytes, 0}, u, 0)) {
                over.emplace_back(
                    name, local,
                    size_text(static_cast<uint64_t>(u.bytes)) + " of " + size_text(quota.bytes));
            }
            if (store::exceeds({0, quota.messages}, u, 0)) {
                over.emplace_back(name, local,
                                  std::to_string(u.messages) + " of " +
                                      std::to_string(quota.messages) + " messages");
            }
        });
    });
    std::sort(over.begin(), over.end());
    for (const auto& [domain, local, what] : over) {
        out.warn(local + "@" + domain + " is over quota: " + what);
    }
}

// Every daemon's parameters, declared and cross-checked as the daemons themselves do it: what
// would stop a daemon at its next start (exit 78) is an error here, with its file and line.
std::shared_ptr<const config::config> daemons_config(context& ctx, findings& out) {
    auto loaded = load_daemons_config(ctx);
    for (const auto& e : loaded.errors) {
        out.add(e);
    }
    for (const auto& w : loaded.warnings) {
        out.warn(w);
    }
    if (!loaded.cfg) {
        return nullptr;
    }
    for (const auto* d : daemon_param_tables()) {
        for (const auto& problem : config::validate_daemon_params(*loaded.cfg, *d)) {
            out.add(problem);
        }
    }
    if (auto why = db::check_settings(db_settings_from(*loaded.cfg)); !why.empty()) {
        out.add(why);
    }
    return loaded.cfg;
}

// The daemons' listeners, from the same configuration file they read.
daemon_endpoints our_endpoints(const config::config& cfg) {
    daemon_endpoints ours;
    for (const auto& item : cfg.get_list("lookupd_tcp_listen")) {
        auto eq = item.find('=');
        if (eq != std::string::npos) {
            ours.lookupd_tcp[item.substr(0, eq)] = item.substr(eq + 1);
        }
    }
    ours.lookupd_socketmap = cfg.get_list("lookupd_socketmap_listen");
    ours.authd = cfg.get_list("authd_dovecot_listen");
    ours.lmtpd = cfg.get_list("lmtpd_listen");
    std::error_code ec;
    if (std::filesystem::exists(
            std::filesystem::path(cfg.get_string("admin_daemon_directory")) / "vhostmail-milter",
            ec)) {
        ours.milter = {cfg.get_string("milter_listen")};
    }
    ours.srs_domain = cfg.get_string("srs_domain");
    return ours;
}

void check_postfix(context& ctx, db::connection& conn, const config::config* daemons,
                   const std::string& dir, findings& out) {
    auto hosted = vhost::admin_store(conn).hosted_names();
    if (daemons == nullptr || !hosted) {
        if (!hosted) {
            out.add("cannot read the hosted domains: " + hosted.failure().message);
        }
        return;
    }
    auto ours = our_endpoints(*daemons);
    std::string error;
    auto pf = read_postfix(ctx.cfg().get_string("admin_postconf_command"), dir, error);
    if (!pf) {
        out.add(error);
        return;
    }
    auto in_use = vhost::admin_store(conn).routing_in_use();
    if (!in_use) {
        out.add("cannot read the domains' routing: " + in_use.failure().message);
        return;
    }
    routing_in_use routing{in_use->backup_domains, in_use->transports, in_use->relayhosts};
    for (auto& f : judge_postfix(*pf, ours, *hosted, routing)) {
        out.all.push_back(std::move(f));
    }
}

// Mail of a domain without an active key leaves unsigned, and big receivers junk it. Said once
// DKIM is in use here (some domain has a key), so that a host without the milter stays quiet.
void check_dkim(db::connection& conn, const context& ctx, const vhost::snapshot& snap,
                findings& out) {
    vhost::admin_store store(conn);
    if (ctx.scope()) {
        store.restrict_to(*ctx.scope());
    }
    auto keys = store.dkim_keys("");
    if (!keys) {
        out.add("cannot read the DKIM keys: " + keys.failure().message);
        return;
    }
    if (keys->empty()) {
        return;
    }
    std::set<std::string> signed_domains;
    for (const auto& k : *keys) {
        if (k.state == "active") {
            signed_domains.insert(k.domain);
        }
    }
    std::vector<std::string> unsigned_domains;
    snap.for_each_domain([&](const vhost::domain_segment& seg) {
        std::string name(seg.domain().name);
        if (seg.domain().enabled && !signed_domains.contains(name) &&
            (!ctx.scope() || ctx.scope()->domains.contains(name))) {
            unsigned_domains.push_back(name);
        }
    });
    std::sort(unsigned_domains.begin(), unsigned_domains.end());
    for (const auto& name : unsigned_domains) {
        out.warn(name +
                 " has no active DKIM key: its mail leaves unsigned (vhostmail dkim keygen " +
                 name + ")");
    }
}

void print_findings(const context& ctx, const findings& out) {
    if (ctx.json()) {
        auto problems = nlohmann::ordered_json::array();
        auto detailed = nlohmann::ordered_json::array();
        for (const auto& f : out.all) {
            problems.push_back(f.message);
            detailed.push_back(
                {{"severity", f.error ? "error" : "warning"}, {"message", f.message}});
        }
        print_json({{"problems", problems}, {"findings", detailed}});
        return;
    }
    for (const auto& f : out.all) {
        std::printf("%s: %s\n", f.error ? "error" : "warning", f.message.c_str());
    }
    size_t errors = out.errors();
    std::printf("%zu problem%s found", out.all.size(), out.all.size() == 1 ? "" : "s");
    if (!out.all.empty()) {
        std::printf(" (%zu error%s, %zu warning%s)", errors, errors == 1 ? "" : "s",
                    out.all.size() - errors, out.all.size() - errors == 1 ? "" : "s");
    }
    std::printf("\n");
}

int check(context& ctx, const words& a) {
    std::optional<std::string> postfix_dir;
    if (!a.empty()) {
        if (a[0] != "--postfix") {
            std::fputs("usage: vhostmail check [--postfix [DIR]]\n", stderr);
            return exit_usage;
        }
        postfix_dir = a.size() > 1 ? a[1] : "";
    }
    if (postfix_dir && ctx.scope()) {
        return ctx.fail("check --postfix is for the superadmin, not for domain administrators");
    }
    findings out;
    db::connection* conn = ctx.conn();
    if (conn == nullptr) {
        return exit_failed;
    }
    std::shared_ptr<const config::config> daemons;
    if (!ctx.scope()) {  // only the superadmin can act on these
        daemons = daemons_config(ctx, out);
        check_schema(ctx, *conn, out);
        check_secret_files(ctx, out);
    }
    auto snap = vhost::load_snapshot(*conn);
    if (!snap) {
        out.add("cannot read the routing data: " + snap.error().message);
    } else {
        check_routing(ctx, *snap, out);
        check_quotas(ctx, *conn, **snap, out);
        check_dkim(*conn, ctx, **snap, out);
    }
    if (postfix_dir) {
        check_postfix(ctx, *conn, daemons.get(), *postfix_dir, out);
    }
    print_findings(ctx, out);
    return out.errors() == 0 ? exit_ok : exit_failed;
}

}  // namespace

const std::vector<const config::daemon_params*>& daemon_param_tables() {
    static const std::vector<const config::daemon_params*> all = {
        &params::lookupd, &params::policyd, &params::authd, &params::lmtpd, &params::milter};
    return all;
}

config::load_result load_daemons_config(const context& ctx) {
    config::param_table table;
    config::add_common_params(table);
    for (const auto* d : daemon_param_tables()) {
        config::declare_daemon_params(table, *d);
    }
    declare_own_params(table);
    config::load_options options = ctx.load_options();
    options.foreign_prefixes.clear();  // every daemon's parameters are declared here
    return config::load_config(table, options);
}

std::vector<command> check_commands() {
    return {{"check", "[--postfix [DIR]]",
             "check the configuration, the database, the routing data (and Postfix's wiring)", 0, 2,
             check,
             "Errors: configuration errors (file:line) of this tool and of every daemon's\n"
             "parameters (what would stop a daemon at its next start), a database that refuses\n"
             "the login or cannot be reached, missing schema\n"
             "migrations, hosted domains without postmaster@ or abuse@, forwardings to local\n"
             "addresses that do not exist, alias loops. Warnings: mailboxes at or over quota;\n"
             "domains without an active DKIM key (once any domain has a key); the\n"
             "configuration file (when it holds db_password) or db_option_file readable by\n"
             "every local user.\n"
             "--postfix [DIR] also reads Postfix's settings (postconf [-c DIR] -x/-M/-P) and\n"
             "reports maps missing, pointing at the wrong lookupd map or listener, or consulted\n"
             "after other tables; hosted domains also in mydestination, virtual_alias_domains or\n"
             "relay_domains; no reject_unauth_destination; submission services without SMTP\n"
             "AUTH or permit_sasl_authenticated; SASL and LMTP sockets that are not authd's and\n"
             "lmtpd's; with srs_domain set, the SRS maps and classes (docs/srs.md) and an SRS\n"
             "domain Postfix does not accept mail for. One line per finding; exit status 1 when\n"
             "there is an error.\n"}};
}

}  // namespace vhostmail::admin
