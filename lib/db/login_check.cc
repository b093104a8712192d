// SPDX-License-Identifier: Apache-2.0
#include "lib/db/login_check.hh"

#include "lib/db/pool.hh"
#include "lib/log/log.hh"

namespace vhostmail {

db_login_result check_db_login(const db::settings& s) {
    db::settings one = s;
    one.pool_size = 1;
    if (auto why = db::check_settings(one); !why.empty()) {
        return {db_login::refused, why};
    }
    db::pool pool(one);
    auto lease = pool.acquire();
    if (lease) {
        return {db_login::ok, ""};
    }
    const auto& e = lease.error();
    return {db::is_login_refusal(e.code) ? db_login::refused : db_login::unreachable,
            db::describe(e)};
}

std::string login_refused_text(const db_login_result& r) {
    return "the database refuses our login: " + r.message +
           " (a configuration error, not an outage: check db_user, db_password or"
           " db_option_file, db_name, and the account's grants)";
}

db_login_watch::db_login_watch(db::settings s, std::chrono::milliseconds interval) {
    thread_ = std::thread([this, s = std::move(s), interval] {
        bool refused_before = false;
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            lock.unlock();
            auto r = check_db_login(s);
            lock.lock();
            if (r.what == db_login::refused) {
                log::error("{}; every request answers a temporary failure until it is fixed",
                           login_refused_text(r));
                refused_before = true;
            } else if (r.what == db_login::ok) {
                if (refused_before) {
                    log::info("the database accepts our login again");
                }
                return;
            }
            // Unreachable: an outage, which the daemon reports where it meets it; keep
            // watching, since the login is still unproven.
            wake_.wait_for(lock, interval, [this] { return stopping_; });
        }
    });
}

db_login_watch::~db_login_watch() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

}  // namespace vhostmail
