// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/delivery_store.hh"

#include "lib/log/log.hh"

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
constexpr const char* queue_reply_sql =
    "INSERT INTO autoreply_outbox (address_id, recipient, message, created_at, next_attempt_at,"
    " attempts, last_error) VALUES (?, ?, ?, UNIX_TIMESTAMP(), UNIX_TIMESTAMP(), 1,"
    " LEFT(?, 255))";  // the delivery's own attempt counts
constexpr const char* due_replies_sql =
    "SELECT id, address_id, recipient, message, attempts, created_at, next_attempt_at"
    " FROM autoreply_outbox WHERE next_attempt_at <= UNIX_TIMESTAMP()"
    " ORDER BY next_attempt_at LIMIT ?";
constexpr const char* claim_due_sql =
    "UPDATE autoreply_outbox SET next_attempt_at = UNIX_TIMESTAMP() + ?, attempts = attempts + 1"
    " WHERE id = ? AND next_attempt_at = ?";
constexpr const char* reply_done_sql = "DELETE FROM autoreply_outbox WHERE id = ?";
constexpr const char* reply_failed_sql =
    "UPDATE autoreply_outbox SET next_attempt_at = UNIX_TIMESTAMP() + ?, last_error = LEFT(?, 255)"
    " WHERE id = ?";

// One statement; a deadlock/certification conflict is retried (docs/cluster.md rule 3).
db::outcome<db::result> exec(db::pool& pool, const char* sql, const std::vector<db::param>& p) {
    return pool.run_retrying_deadlocks([&](db::connection& c) { return c.query(sql, p); });
}

store_result fail(const db::error& e) {
    return {false, db::describe(e)};
}

}  // namespace

sql_delivery_store::sql_delivery_store(db::pool& pool, std::string node,
                                       std::chrono::milliseconds usage_interval)
    : pool_(pool), node_(std::move(node)), usage_interval_(usage_interval) {
    if (usage_interval_.count() > 0) {
        writer_ = std::thread([this] {
            std::unique_lock lock(mutex_);
            while (!stop_cv_.wait_for(lock, usage_interval_, [this] { return stopping_; })) {
                lock.unlock();
                flush_usage();
                lock.lock();
            }
        });
    }
}

sql_delivery_store::~sql_delivery_store() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    stop_cv_.notify_all();
    if (writer_.joinable()) {
        writer_.join();
    }
    flush_usage();
}

void sql_delivery_store::flush_usage() {
    std::map<uint64_t, vhost::usage_measurement> batch;
    {
        std::lock_guard lock(mutex_);
        batch.swap(pending_usage_);
    }
    if (batch.empty()) {
        return;
    }
    auto r = pool_.run_retrying_deadlocks([&](db::connection& c) -> db::outcome<void> {
        if (auto b = c.begin(); !b) {
            return b;
        }
        for (const auto& [id, u] : batch) {
            if (auto q = vhost::write_mailbox_usage(c, node_, id, u); !q) {
                return q;
            }
        }
        return c.commit();
    });
    std::lock_guard lock(mutex_);
    if (!r) {
        for (const auto& [id, u] : batch) {
            pending_usage_.emplace(id, u);  // a newer record queued meanwhile wins
        }
        if (!usage_failing_) {
            log::warning("cannot store mailbox usage records, keeping them in memory: {}",
                         db::describe(r.error()));
        }
    } else if (usage_failing_) {
        log::info("mailbox usage records stored again");
    }
    usage_failing_ = !r;
}

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
    // The time of the measurement, not of the write: readers take the newest row of all hosts,
    // and a record held back by an outage must not pass for the newest when it is written.
    double now = std::chrono::duration<double>(
                     std::chrono::system_clock::now().time_since_epoch()).count();
    vhost::usage_measurement m{{bytes, messages}, now};
    if (usage_interval_.count() > 0) {
        std::lock_guard lock(mutex_);
        pending_usage_[address_id] = m;
        return {};
    }
    auto r = pool_.run_retrying_deadlocks(
        [&](db::connection& c) { return vhost::write_mailbox_usage(c, node_, address_id, m); });
    return r ? store_result{} : fail(r.error());
}

store_result sql_delivery_store::queue_reply(uint64_t address_id, const std::string& recipient,
                                             const std::string& message, const std::string& why) {
    auto r = exec(pool_, queue_reply_sql, {address_id, recipient, message, why});
    return r ? store_result{} : fail(r.error());
}

std::vector<queued_reply> sql_delivery_store::claim_due_replies(size_t max,
                                                                std::chrono::seconds lease) {
    std::vector<queued_reply> out;
    auto due = pool_.run(
        [&](db::connection& c) { return c.query(due_replies_sql, {static_cast<uint64_t>(max)}); });
    if (!due) {
        return out;  // the next round tries again; the outage is logged where mail meets it
    }
    for (const auto& row : due->rows) {
        queued_reply q{
            row.u64(0), row.u64(1), row.str(2), row.str(3), static_cast<uint32_t>(row.u64(4)),
            row.i64(5)};
        auto claimed =
            exec(pool_, claim_due_sql, {static_cast<int64_t>(lease.count()), q.id, row.u64(6)});
        if (claimed && claimed->affected_rows == 1) {
            out.push_back(std::move(q));  // ours: no other host moved it since we read it
        }
    }
    return out;
}

store_result sql_delivery_store::reply_done(uint64_t id) {
    auto r = exec(pool_, reply_done_sql, {id});
    return r ? store_result{} : fail(r.error());
}

store_result sql_delivery_store::reply_failed(uint64_t id, const std::string& why,
                                              std::chrono::seconds retry_in) {
    auto r = exec(pool_, reply_failed_sql, {static_cast<int64_t>(retry_in.count()), why, id});
    return r ? store_result{} : fail(r.error());
}

}  // namespace vhostmail::deliver
