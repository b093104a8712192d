// SPDX-License-Identifier: Apache-2.0
// cmd_db.cc - "vhostmail db migrate" and "vhostmail db status".
#include <algorithm>
#include <cstdio>

#include "daemons/admin/admin.hh"
#include "lib/core/exit_code.hh"
#include "lib/daemon/db_settings.hh"
#include "lib/db/migrate.hh"
#include "lib/db/pool.hh"

namespace vhostmail::admin {

namespace {

int report_error(const db::error& e) {
    std::fprintf(stderr, "vhostmail: database error: %s\n", e.message.c_str());
    return e.temporary ? ex_tempfail : ex_unavailable;
}

}  // namespace

int cmd_db(const config::config& cfg, const std::vector<std::string>& args) {
    if (args.size() != 1 || (args[0] != "migrate" && args[0] != "status")) {
        std::fputs("usage: vhostmail db migrate | status\n", stderr);
        return ex_usage;
    }
    std::filesystem::path dir = cfg.get_string("admin_migrations_directory");
    auto settings = db_settings_from(cfg);
    // A migration statement (ALTER TABLE on a big table) may run for minutes: the daemons'
    // read timeout would turn it into a lost connection half-way.
    settings.read_timeout = std::max(settings.read_timeout, std::chrono::milliseconds(3600'000));
    settings.pool_size = 1;
    db::pool pool(settings);
    auto lease = pool.acquire();
    if (!lease) {
        return report_error(lease.error());
    }
    if (args[0] == "migrate") {
        auto r = db::migrate(**lease, dir);
        if (!r) {
            return report_error(r.error());
        }
        for (unsigned v : r->applied) {
            std::printf("applied migration %04u\n", v);
        }
        std::printf("schema version %04u%s\n", r->schema_version,
                    r->applied.empty() ? " (already current)" : "");
        return ex_ok;
    }
    auto status = db::schema_status(**lease, dir);
    if (!status) {
        return report_error(status.error());
    }
    int pending = 0;
    for (const auto& m : *status) {
        std::printf("%04u %-30s %s\n", m.version, m.name.c_str(),
                    m.applied ? ("applied " + m.applied_at).c_str()
                              : (m.file_present ? "pending" : "applied, file missing"));
        pending += m.applied ? 0 : 1;
    }
    return pending == 0 ? ex_ok : ex_tempfail;
}

}  // namespace vhostmail::admin
