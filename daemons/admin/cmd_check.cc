// SPDX-License-Identifier: Apache-2.0
// cmd_check.cc - vhostmail check: configuration, database, schema version, and routing problems
// an admin wants to hear about before their users do.
#include <cstdio>
#include <ctime>
#include <filesystem>

#include "daemons/admin/admin.hh"
#include "lib/config/common_params.hh"
#include "lib/db/migrate.hh"
#include "lib/vhost/resolver.hh"
#include "lib/vhost/snapshot_loader.hh"

namespace vhostmail::admin {

namespace {

struct findings {
    std::vector<std::string> problems;
    void add(std::string p) { problems.push_back(std::move(p)); }
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

void check_routing(context& ctx, const vhost::snapshot& snap, findings& out) {
    vhost::resolve_options options;
    options.delimiters = ctx.cfg().get_string(config::common::recipient_delimiter);
    options.now = std::time(nullptr);
    vhost::snapshot_directory dir(std::make_shared<vhost::snapshot>(snap));
    for (const auto& [name, data] : snap.domains) {
        if (!data->domain.enabled || (ctx.scope() && !ctx.scope()->domains.contains(name))) {
            continue;
        }
        for (const char* role : {"postmaster", "abuse"}) {
            auto r = vhost::resolve(dir, std::string(role) + "@" + name, options);
            if (r.status == lookup_status::not_found) {
                out.add(std::string(role) + "@" + name + " has no destination (RFC 5321/2142)");
            }
        }
        for (const auto& [local, address] : data->addresses) {
            std::string self = local + "@" + name;
            for (const auto& target : address.forwards) {
                vhost::resolve_options explicit_only = options;
                explicit_only.use_fallback = false;
                auto r = vhost::resolve(dir, target, explicit_only);
                bool hosted = target.find('@') != std::string::npos &&
                              dir.find_domain(target.substr(target.rfind('@') + 1)).ok();
                if (hosted && r.status == lookup_status::not_found) {
                    out.add(self + " forwards to " + target + ", which does not exist");
                }
            }
            auto r = vhost::resolve(dir, self, options);
            for (const auto& step : r.trace) {
                if (step.find("alias loop") != std::string::npos) {
                    out.add(self + ": " + step.substr(step.find("alias loop")));
                    break;
                }
            }
        }
    }
}

int check(context& ctx, const std::vector<std::string>&) {
    findings out;
    db::connection* conn = ctx.conn();
    if (conn == nullptr) {
        return exit_failed;
    }
    if (!ctx.scope()) {
        check_schema(ctx, *conn, out);  // only the superadmin can act on it
    }
    vhost::refresh_stats stats;
    auto snap = vhost::refresh_snapshot(*conn, nullptr, stats);
    if (!snap) {
        out.add("cannot read the routing data: " + snap.error().message);
    } else {
        check_routing(ctx, **snap, out);
    }
    if (ctx.json()) {
        std::string json = "{\"problems\": [";
        for (size_t i = 0; i < out.problems.size(); ++i) {
            json += (i ? ", " : "") + json_string(out.problems[i]);
        }
        std::puts((json + "]}").c_str());
    } else {
        for (const auto& p : out.problems) {
            std::printf("warning: %s\n", p.c_str());
        }
        std::printf("%zu problem%s found\n", out.problems.size(),
                    out.problems.size() == 1 ? "" : "s");
    }
    return out.problems.empty() ? exit_ok : exit_failed;
}

}  // namespace

std::vector<command> check_commands() {
    return {{"check", "", "check the configuration, the database and the routing data", 0, 0, check,
             "Reports configuration errors (file:line), an unreachable database, missing schema\n"
             "migrations, hosted domains without postmaster@ or abuse@, forwardings to local\n"
             "addresses that do not exist and alias loops. Exit status 1 when anything is found.\n"}};
}

}  // namespace vhostmail::admin
