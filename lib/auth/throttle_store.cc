// SPDX-License-Identifier: Apache-2.0
#include "lib/auth/throttle_store.hh"

#include <ctime>

namespace vhostmail::auth {

namespace {

constexpr std::string_view count_attempt_sql =
    "INSERT INTO auth_attempts (client, login, bucket, shard, failures) VALUES (?, ?, ?, ?, 1)"
    " ON DUPLICATE KEY UPDATE failures = failures + 1";

// The client's sum is left out for an unknown client: all of them share the key "".
constexpr std::string_view failures_sql =
    "SELECT IF(? = '', 0, (SELECT COALESCE(SUM(failures), 0) FROM auth_attempts"
    " WHERE client = ? AND bucket >= ?)),"
    " (SELECT COALESCE(SUM(failures), 0) FROM auth_attempts WHERE login = ? AND bucket >= ?)";

constexpr std::string_view trust_sql =
    "SELECT 1 FROM auth_trust WHERE login = ? AND client = ? AND last_success >= ?";

constexpr std::string_view take_back_sql =
    "UPDATE auth_attempts SET failures = failures - 1 WHERE client = ? AND login = ? AND"
    " bucket = ? AND shard = ? AND failures > 0";

constexpr std::string_view forgive_sql = "DELETE FROM auth_attempts WHERE client = ? AND login = ?";

constexpr std::string_view trust_upsert_sql =
    "INSERT INTO auth_trust (login, client, last_success) VALUES (?, ?, ?)"
    " ON DUPLICATE KEY UPDATE last_success = GREATEST(last_success, VALUES(last_success))";

constexpr std::string_view expire_attempts_sql =
    "DELETE FROM auth_attempts WHERE bucket < ? LIMIT 500";

constexpr std::string_view expire_trust_sql =
    "DELETE FROM auth_trust WHERE last_success < ? LIMIT 500";

int64_t now_s() {
    return static_cast<int64_t>(std::time(nullptr));
}

}  // namespace

throttle_store::throttle_store(std::string shard, const throttle_limits& limits)
    : shard_(std::move(shard)) {
    set_limits(limits);
}

void throttle_store::set_limits(const throttle_limits& limits) {
    window_s_ = limits.window.count();
    trust_s_ = limits.trust_time.count();
    enabled_ = limits.enabled;
}

db::outcome<attempt> throttle_store::begin_attempt(db::connection& c, const throttle_subject& s) {
    attempt a;
    a.before.client_known = !s.client.empty();
    if (!enabled_) {
        return a;
    }
    int64_t now = now_s();
    a.bucket = now / 60;
    auto counted = c.query(count_attempt_sql, {s.client, s.login, a.bucket, shard_});
    if (!counted) {
        return counted.error();
    }
    int64_t oldest = (now - window_s_.load()) / 60;
    auto sums = c.query(failures_sql, {s.client, s.client, oldest, s.login, oldest});
    if (!sums) {
        return sums.error();
    }
    // Both sums include this attempt's own count: what came before it is one less.
    auto before = [](uint64_t n) { return n > 0 ? n - 1 : 0; };
    if (!sums->rows.empty()) {
        a.before.client_failures = a.before.client_known ? before(sums->rows.front().u64(0)) : 0;
        a.before.login_failures = before(sums->rows.front().u64(1));
    }
    if (a.before.login_failures > 0 && a.before.client_known) {
        auto t = c.query(trust_sql, {s.login, s.client, now - trust_s_.load()});
        if (!t) {
            return t.error();
        }
        a.before.trusted = !t->rows.empty();
    }
    return a;
}

db::outcome<db::result> throttle_store::end_attempt(db::connection& c, const throttle_subject& s,
                                                    const attempt& a, attempt_end how) {
    if (!enabled_) {
        return db::result{};
    }
    switch (how) {
        case attempt_end::failed:
            return db::result{};  // the count made at the start is the failure
        case attempt_end::refused:
            return c.query(take_back_sql, {s.client, s.login, a.bucket, shard_});
        case attempt_end::succeeded:
            break;
    }
    auto forgiven = c.query(forgive_sql, {s.client, s.login});
    if (!forgiven || s.client.empty()) {
        return forgiven;
    }
    return c.query(trust_upsert_sql, {s.login, s.client, now_s()});
}

db::outcome<db::result> throttle_store::expire(db::connection& c) {
    int64_t now = now_s();
    auto a = c.query(expire_attempts_sql, {(now - window_s_.load()) / 60 - 1});
    if (!a) {
        return a;
    }
    return c.query(expire_trust_sql, {now - trust_s_.load()});
}

}  // namespace vhostmail::auth
