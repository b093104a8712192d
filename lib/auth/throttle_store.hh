// SPDX-License-Identifier: Apache-2.0
// throttle_store.hh - the throttling state every authd and the admin tool's sign-in share, in
// auth_attempts and auth_trust (sql/migrations/0005_auth_attempts.sql says what is kept where).
//
// An attempt is counted as a failure *before* its password is checked (begin_attempt), so
// attempts running at the same moment, on this host or another, see each other: however many
// arrive at once, at most block_after of them are ever checked. Its end (end_attempt) keeps the
// count for a failure, takes it back for a refusal (refusals are not failures: they would keep a
// block alive for ever), and for a success takes back every failure of this login *from this
// client* (the owner's own typing errors) and trusts the client. A success never forgives the
// client's failures for other logins, so one good account does not reset a password-spraying
// client.
// Keys: client_counting_key and address_counting_key (lib/core), made storable; client "" is
// "unknown" (saslauthd), whose rows count for the login only.
// Thread safety: the methods may be called concurrently, each with its own connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/auth/throttle.hh"
#include "lib/db/connection.hh"

namespace vhostmail::auth {

class throttle_store {
public:
    // `shard` identifies this writer among all hosts (docs/cluster.md rule 1).
    throttle_store(std::string shard, const throttle_limits& limits);

    void set_limits(const throttle_limits& limits);

    bool enabled() const { return enabled_; }

    db::outcome<attempt> begin_attempt(db::connection& c, const throttle_subject& s);
    db::outcome<db::result> end_attempt(db::connection& c, const throttle_subject& s,
                                        const attempt& a, attempt_end how);
    // Deletes rows that left the window or the trust time, in small batches; call it now and
    // then (every hundredth attempt does).
    db::outcome<db::result> expire(db::connection& c);

    bool expiry_due() { return ++attempts_ % 100 == 1; }

private:
    const std::string shard_;
    std::atomic<int64_t> window_s_{0}, trust_s_{0};
    std::atomic<bool> enabled_{true};
    std::atomic<uint64_t> attempts_{0};
};

}  // namespace vhostmail::auth
