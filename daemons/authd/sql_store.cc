// SPDX-License-Identifier: Apache-2.0
#include "daemons/authd/sql_store.hh"

#include <ctime>

#include "lib/log/log.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::authd {

namespace {

// Domain aliases are deliberately not joined: only the canonical domain name logs in.
constexpr std::string_view find_user_sql =
    "SELECT a.password, a.enabled, d.enabled, a.logins, d.logins FROM addresses a"
    " JOIN domains d ON d.id = a.domain_id WHERE d.name = ? AND a.local_part = ?";

constexpr std::string_view failures_sql =
    "SELECT kind, SUM(failures) FROM auth_failures"
    " WHERE ((kind = 'client' AND subject = ?) OR (kind = 'login' AND subject = ?))"
    " AND bucket >= ? GROUP BY kind";

constexpr std::string_view trust_sql =
    "SELECT 1 FROM auth_trust WHERE login = ? AND client = ? AND last_success >= ?";

constexpr std::string_view count_failure_sql =
    "INSERT INTO auth_failures (kind, subject, bucket, shard, failures) VALUES (?, ?, ?, ?, 1)"
    " ON DUPLICATE KEY UPDATE failures = failures + 1";

constexpr std::string_view reset_sql = "DELETE FROM auth_failures WHERE kind = ? AND subject = ?";

constexpr std::string_view trust_upsert_sql =
    "INSERT INTO auth_trust (login, client, last_success) VALUES (?, ?, ?)"
    " ON DUPLICATE KEY UPDATE last_success = GREATEST(last_success, VALUES(last_success))";

constexpr std::string_view expire_failures_sql =
    "DELETE FROM auth_failures WHERE bucket < ? LIMIT 500";

constexpr std::string_view expire_trust_sql =
    "DELETE FROM auth_trust WHERE last_success < ? LIMIT 500";

constexpr std::string_view update_hash_sql =
    "UPDATE addresses a JOIN domains d ON d.id = a.domain_id SET a.password = ?"
    " WHERE d.name = ? AND a.local_part = ? AND a.password = ?";

int64_t now_s() {
    return static_cast<int64_t>(std::time(nullptr));
}

void warn_if_failed(const db::outcome<db::result>& r, std::string_view what) {
    if (!r) {
        log::warning("cannot {}: {}", what, db::describe(r.error()));
    }
}

}  // namespace

sql_store::sql_store(db::pool& pool, std::string shard, throttle_limits limits)
    : pool_(pool), shard_(std::move(shard)) {
    set_limits(limits);
}

void sql_store::set_limits(throttle_limits limits) {
    window_s_ = limits.window.count();
    trust_s_ = limits.trust_time.count();
    enabled_ = limits.enabled;
}

lookup<user_record> sql_store::find_user(std::string_view local, std::string_view domain) {
    auto r = pool_.run([&](db::connection& c) {
        return c.query(find_user_sql, {std::string(domain), std::string(local)});
    });
    if (!r) {
        return lookup<user_record>::temp_fail(db::describe(r.error()));
    }
    if (r->rows.empty()) {
        return lookup<user_record>::not_found();
    }
    const auto& row = r->rows.front();
    user_record u;
    u.password_hash = row.str(0);
    u.enabled = row.boolean(1);
    u.domain_enabled = row.boolean(2);
    u.logins = vhost::parse_login_set(row.str(3));
    u.domain_logins = vhost::parse_login_set(row.str(4));
    return lookup<user_record>::found(std::move(u));
}

lookup<throttle_counts> sql_store::throttle_state(std::string_view login, std::string_view client) {
    throttle_counts c;
    if (!enabled_) {
        return lookup<throttle_counts>::found(c);
    }
    int64_t now = now_s();
    auto r = pool_.run([&](db::connection& conn) -> db::outcome<db::result> {
        auto sums = conn.query(
            failures_sql, {std::string(client), std::string(login), (now - window_s_.load()) / 60});
        if (!sums) {
            return sums;
        }
        for (const auto& row : sums->rows) {
            (row.str(0) == "client" ? c.client_failures : c.login_failures) = row.u64(1);
        }
        if (c.login_failures == 0) {
            return sums;  // trust only matters when the login has failures
        }
        auto t =
            conn.query(trust_sql, {std::string(login), std::string(client), now - trust_s_.load()});
        if (t) {
            c.trusted = !t->rows.empty();
        }
        return t;
    });
    if (!r) {
        return lookup<throttle_counts>::temp_fail(db::describe(r.error()));
    }
    return lookup<throttle_counts>::found(c);
}

void sql_store::record_failure(std::string_view login, std::string_view client) {
    if (!enabled_) {
        return;
    }
    int64_t now = now_s();
    auto bucket = now / 60;
    auto r = pool_.run_retrying_deadlocks([&](db::connection& conn) -> db::outcome<db::result> {
        auto a = conn.query(count_failure_sql,
                            {std::string("login"), std::string(login), bucket, shard_});
        if (!a || client.empty()) {
            return a;
        }
        return conn.query(count_failure_sql,
                          {std::string("client"), std::string(client), bucket, shard_});
    });
    warn_if_failed(r, "count an authentication failure");
    // Expire old rows now and then, in small batches (CLUSTER.md: no long locks).
    if (++writes_ % 100 == 1) {
        auto e = pool_.run([&](db::connection& conn) -> db::outcome<db::result> {
            auto a = conn.query(expire_failures_sql, {(now - window_s_.load()) / 60 - 1});
            if (!a) {
                return a;
            }
            return conn.query(expire_trust_sql, {now - trust_s_.load()});
        });
        warn_if_failed(e, "expire throttling state");
    }
}

void sql_store::record_success(std::string_view login, std::string_view client, bool had_failures) {
    if (!enabled_) {
        return;
    }
    auto r = pool_.run_retrying_deadlocks([&](db::connection& conn) -> db::outcome<db::result> {
        if (had_failures) {
            auto a = conn.query(reset_sql, {std::string("login"), std::string(login)});
            if (!a) {
                return a;
            }
            if (!client.empty()) {
                a = conn.query(reset_sql, {std::string("client"), std::string(client)});
                if (!a) {
                    return a;
                }
            }
        }
        if (client.empty()) {
            return db::result{};
        }
        return conn.query(trust_upsert_sql, {std::string(login), std::string(client), now_s()});
    });
    warn_if_failed(r, "record a successful login");
}

void sql_store::update_hash(std::string_view local, std::string_view domain,
                            std::string_view old_hash, std::string_view new_hash) {
    auto r = pool_.run_retrying_deadlocks([&](db::connection& conn) {
        return conn.query(update_hash_sql, {std::string(new_hash), std::string(domain),
                                            std::string(local), std::string(old_hash)});
    });
    if (r) {
        log::info("rehashed the password of {}@{} with the default scheme", local, domain);
    }
    warn_if_failed(r, "store a rehashed password");
}

}  // namespace vhostmail::authd
