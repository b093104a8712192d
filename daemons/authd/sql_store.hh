// SPDX-License-Identifier: Apache-2.0
// sql_store.hh - auth_store over MariaDB: accounts from addresses/domains, throttling state in
// auth_failures/auth_trust (sql/migrations/0002_auth.sql says what is kept where). Every
// statement is a fixed prepared statement. Counters follow CLUSTER.md rule 1: one row per
// writing instance (`shard`), summed on read.
// Thread safety: all members may be called concurrently (the pool leases per call).
#pragma once

#include <atomic>
#include <string>

#include "lib/db/pool.hh"

#include "daemons/authd/auth_service.hh"

namespace vhostmail::authd {

class sql_store final : public auth_store {
public:
    // `shard` identifies this daemon instance among all writers (e.g. "hostname:authd").
    sql_store(db::pool& pool, std::string shard, throttle_limits limits);

    lookup<user_record> find_user(std::string_view local, std::string_view domain) override;
    lookup<throttle_counts> throttle_state(std::string_view login,
                                           std::string_view client) override;
    void record_failure(std::string_view login, std::string_view client) override;
    void record_success(std::string_view login, std::string_view client,
                        bool had_failures) override;
    void update_hash(std::string_view local, std::string_view domain, std::string_view old_hash,
                     std::string_view new_hash) override;

    void set_limits(throttle_limits limits);

private:
    db::pool& pool_;
    const std::string shard_;
    std::atomic<int64_t> window_s_, trust_s_;
    std::atomic<bool> enabled_;
    std::atomic<uint64_t> writes_{0};
};

}  // namespace vhostmail::authd
