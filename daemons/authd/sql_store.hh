// SPDX-License-Identifier: Apache-2.0
// sql_store.hh - auth_store over MariaDB: accounts from addresses/domains, throttling state
// through throttle_store (auth_attempts, auth_trust). Every statement is a fixed prepared
// statement.
// Thread safety: all members may be called concurrently (the pool leases per call).
#pragma once

#include <string>

#include "lib/auth/throttle_store.hh"
#include "lib/db/pool.hh"

#include "daemons/authd/auth_service.hh"

namespace vhostmail::authd {

class sql_store final : public auth_store {
public:
    // `shard` identifies this daemon instance among all writers (e.g. "hostname:authd").
    sql_store(db::pool& pool, std::string shard, throttle_limits limits);

    lookup<user_record> find_user(std::string_view local, std::string_view domain) override;
    lookup<attempt> begin_attempt(const throttle_subject& who) override;
    void end_attempt(const throttle_subject& who, const attempt& a, attempt_end how) override;
    void update_hash(std::string_view local, std::string_view domain, std::string_view old_hash,
                     std::string_view new_hash) override;

    void set_limits(throttle_limits limits) { throttle_.set_limits(limits); }

private:
    db::pool& pool_;
    auth::throttle_store throttle_;
};

}  // namespace vhostmail::authd
