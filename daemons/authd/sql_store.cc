// SPDX-License-Identifier: Apache-2.0
#include "daemons/authd/sql_store.hh"

#include "lib/log/log.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::authd {

namespace {

// Domain aliases are deliberately not joined: only the canonical domain name logs in.
constexpr std::string_view find_user_sql =
    "SELECT a.password, a.enabled, d.enabled, a.logins, d.logins FROM addresses a"
    " JOIN domains d ON d.id = a.domain_id WHERE d.name = ? AND a.local_part = ?";

constexpr std::string_view update_hash_sql =
    "UPDATE addresses a JOIN domains d ON d.id = a.domain_id SET a.password = ?"
    " WHERE d.name = ? AND a.local_part = ? AND a.password = ?";

void warn_if_failed(const db::outcome<db::result>& r, std::string_view what) {
    if (!r) {
        log::warning("cannot {}: {}", what, db::describe(r.error()));
    }
}

}  // namespace

sql_store::sql_store(db::pool& pool, std::string shard, throttle_limits limits)
    : pool_(pool), throttle_(std::move(shard), limits) {}

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

lookup<attempt> sql_store::begin_attempt(const throttle_subject& who) {
    if (!throttle_.enabled()) {
        return lookup<attempt>::found(attempt{});
    }
    // Not retried on a deadlock: the count may already be made (over-counting is the safe side).
    auto r = pool_.run([&](db::connection& c) { return throttle_.begin_attempt(c, who); });
    if (!r) {
        return lookup<attempt>::temp_fail(db::describe(r.error()));
    }
    if (throttle_.expiry_due()) {
        // Old rows go now and then, in small batches (docs/cluster.md: no long locks).
        warn_if_failed(pool_.run([&](db::connection& c) { return throttle_.expire(c); }),
                       "expire throttling state");
    }
    return lookup<attempt>::found(std::move(*r));
}

void sql_store::end_attempt(const throttle_subject& who, const attempt& a, attempt_end how) {
    if (!throttle_.enabled() || how == attempt_end::failed) {
        return;
    }
    auto r = pool_.run_retrying_deadlocks(
        [&](db::connection& c) { return throttle_.end_attempt(c, who, a, how); });
    warn_if_failed(r, how == attempt_end::succeeded ? "record a successful login"
                                                    : "take back a refused attempt");
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
