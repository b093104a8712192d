// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/delivery_store.hh"

#include <chrono>
#include <random>
#include <thread>

namespace vhostmail::deliver {

namespace {

// All SQL of the delivery state in one place.
constexpr const char* vacation_sql =
    "SELECT subject, body, interval_seconds FROM vacations WHERE address_id = ?";
constexpr const char* claim_new_sql =
    "INSERT IGNORE INTO vacation_notifications (address_id, sender, notified_at)"
    " VALUES (?, ?, UTC_TIMESTAMP(6))";
constexpr const char* claim_expired_sql =
    "UPDATE vacation_notifications SET notified_at = UTC_TIMESTAMP(6)"
    " WHERE address_id = ? AND sender = ?"
    " AND notified_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND";
constexpr const char* release_sql =
    "DELETE FROM vacation_notifications WHERE address_id = ? AND sender = ?";
constexpr const char* usage_sql =
    "INSERT INTO mailbox_usage (address_id, node, bytes, messages, updated_at)"
    " VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP(6))"
    " ON DUPLICATE KEY UPDATE bytes = VALUES(bytes), messages = VALUES(messages),"
    " updated_at = VALUES(updated_at)";

// One statement with CLUSTER.md rule 3: a deadlock/certification conflict (1213) is retried
// up to 3 times after a short random delay; everything else goes through pool::run.
db::outcome<db::result> exec(db::pool& pool, const char* sql, const std::vector<db::param>& p) {
    for (int attempt = 0;; ++attempt) {
        auto r = pool.run([&](db::connection& c) { return c.query(sql, p); });
        if (r || r.error().code != 1213 || attempt == 2) {
            return r;
        }
        thread_local std::mt19937 gen{std::random_device{}()};
        std::this_thread::sleep_for(std::chrono::milliseconds(1 + gen() % 10));
    }
}

store_result fail(const db::error& e) {
    return {false, db::describe(e)};
}

}  // namespace

store_result sql_delivery_store::vacation(uint64_t address_id, vacation_text& out) {
    auto r = exec(pool_, vacation_sql, {address_id});
    if (!r) {
        return fail(r.error());
    }
    out = {};
    if (!r->rows.empty()) {
        out.found = true;
        out.subject = r->rows[0].str(0);
        out.body = r->rows[0].str(1);
        out.interval_seconds = r->rows[0].u64(2, 604800);
    }
    return {};
}

store_result sql_delivery_store::claim_reply(uint64_t address_id, const std::string& sender,
                                             uint64_t interval_seconds, bool& claimed) {
    claimed = false;
    auto r = exec(pool_, claim_new_sql, {address_id, sender});
    if (!r) {
        return fail(r.error());
    }
    if (r->affected_rows == 1) {
        claimed = true;
        return {};
    }
    r = exec(pool_, claim_expired_sql, {address_id, sender, interval_seconds});
    if (!r) {
        return fail(r.error());
    }
    claimed = r->affected_rows == 1;
    return {};
}

store_result sql_delivery_store::release_reply(uint64_t address_id, const std::string& sender) {
    auto r = exec(pool_, release_sql, {address_id, sender});
    return r ? store_result{} : fail(r.error());
}

store_result sql_delivery_store::record_usage(uint64_t address_id, int64_t bytes,
                                              int64_t messages) {
    auto r = exec(pool_, usage_sql, {address_id, node_, bytes, messages});
    return r ? store_result{} : fail(r.error());
}

}  // namespace vhostmail::deliver
