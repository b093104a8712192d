// SPDX-License-Identifier: Apache-2.0
// cmd_db.cc - vhostmail db migrate | status.
#include <cstdio>

#include "daemons/admin/admin.hh"
#include "lib/db/migrate.hh"

namespace vhostmail::admin {

namespace {

int db_migrate(context& ctx, const std::vector<std::string>&) {
    db::connection* conn = ctx.conn();
    if (conn == nullptr) {
        return exit_failed;
    }
    auto r = db::migrate(*conn, ctx.cfg().get_string("admin_migrations_directory"));
    if (!r) {
        return ctx.fail("migration failed: " + r.error().message);
    }
    for (unsigned v : r->applied) {
        std::printf("applied migration %04u\n", v);
    }
    std::printf("schema version %04u%s\n", r->schema_version,
                r->applied.empty() ? " (already current)" : "");
    return exit_ok;
}

int db_status(context& ctx, const std::vector<std::string>&) {
    db::connection* conn = ctx.conn();
    if (conn == nullptr) {
        return exit_failed;
    }
    auto status = db::schema_status(*conn, ctx.cfg().get_string("admin_migrations_directory"));
    if (!status) {
        return ctx.fail("database error: " + status.error().message);
    }
    vhost::table t{{"version", "name", "state"}, {}};
    bool pending = false;
    for (const auto& m : *status) {
        char version[16];
        std::snprintf(version, sizeof(version), "%04u", m.version);
        t.rows.push_back({version, m.name,
                          m.applied ? "applied " + m.applied_at
                                    : (m.file_present ? "pending" : "applied, file missing")});
        pending = pending || !m.applied;
    }
    print_table(ctx, t);
    return pending ? exit_failed : exit_ok;
}

}  // namespace

std::vector<command> db_commands() {
    return {
        {"db migrate", "", "apply the schema migrations that are missing (idempotent)", 0, 0,
         db_migrate, "", true},
        {"db status", "", "list applied and pending schema migrations", 0, 0, db_status, "", true},
    };
}

}  // namespace vhostmail::admin
