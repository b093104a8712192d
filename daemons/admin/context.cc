// SPDX-License-Identifier: Apache-2.0
// context.cc - the admin tool's database connection and error output.
#include <algorithm>
#include <cstdio>

#include "lib/db/from_config.hh"
#include "lib/db/login_check.hh"
#include "lib/vhost/snapshot_loader.hh"

#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

int context::fail(const std::string& message) const {
    std::fprintf(stderr, "vhostmail: %s\n", message.c_str());
    return exit_failed;
}

db::connection* context::conn() {
    if (lease_) {
        return &**lease_;
    }
    auto settings = db_settings_from(*cfg_);
    // One connection, and a long read timeout: a migration or a large import may take minutes.
    settings.pool_size = 1;
    settings.read_timeout = std::max(settings.read_timeout, std::chrono::milliseconds(3600'000));
    if (std::string why = db::check_settings(settings); !why.empty()) {
        fail(why);
        return nullptr;
    }
    pool_ = std::make_unique<db::pool>(settings);
    auto lease = pool_->acquire();
    if (!lease) {
        if (db::is_login_refusal(lease.error().code)) {
            fail(login_refused_text({db_login::refused, db::describe(lease.error())}));
        } else {
            fail("cannot reach the database: " + lease.error().message);
        }
        return nullptr;
    }
    lease_.emplace(std::move(*lease));
    return &**lease_;
}

std::shared_ptr<const vhost::snapshot> context::routing_snapshot() {
    db::connection* c = conn();
    if (c == nullptr) {
        return nullptr;
    }
    auto snap = vhost::load_snapshot(*c);
    if (!snap) {
        fail("database error: " + snap.error().message);
        return nullptr;
    }
    return std::move(*snap);
}

std::optional<vhost::settings> settings_from(const words& args, size_t from, const context& ctx) {
    std::string error;
    auto s = vhost::parse_settings({args.begin() + static_cast<long>(from), args.end()}, error);
    if (!s) {
        ctx.fail(error);
    }
    return s;
}

}  // namespace vhostmail::admin
