// SPDX-License-Identifier: Apache-2.0
// throttle.hh - the arithmetic of authentication throttling (like Dovecot's auth penalty): how
// long to hold a request, and when to refuse it, from the recent failures of its client and of
// its login. Pure: the counts come from the database (throttle_store.hh), under the keys
// client_counting_key (an IPv6 client by its /64) and address_counting_key (a login without
// case or +extension variants).
// Thread safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace vhostmail::auth {

struct throttle_limits {
    bool enabled = true;
    uint64_t free_failures = 3;  // failures tolerated before any delay
    std::chrono::milliseconds base_delay{
        250};  // delay after the first failure beyond the free ones
    std::chrono::milliseconds max_delay{3000};  // the delay stops doubling here (< Postfix's 10 s)
    uint64_t block_after = 30;  // from this many failures on, refuse without checking the password
    std::chrono::seconds window{900};            // failures older than this are forgotten
    std::chrono::seconds trust_time{86400 * 7};  // a success from a client trusts it this long
};

struct throttle_counts {
    uint64_t client_failures = 0;  // from this client, any login
    uint64_t login_failures = 0;   // for this login, any client
    bool trusted = false;  // this client logged in successfully as this login within trust_time
    // false when the protocol names no client (saslauthd): then nothing is refused outright,
    // since one attacker anywhere could lock the login out for everyone; the delay still grows.
    bool client_known = true;
};

struct throttle_decision {
    std::chrono::milliseconds delay{0};  // hold the request this long before answering
    bool refuse = false;                 // answer "failed" without checking the password
};

// How an attempt ended (throttle_store.hh says what each does to the counts).
enum class attempt_end { failed, refused, succeeded };

struct throttle_subject {
    std::string login;   // address_counting_key of the login, storable
    std::string client;  // client_counting_key of the client, storable; "" unknown
};

// The keys of an attempt by `login` from `client` ("" when the protocol gives none; a local
// user of the admin tool is "uid:N").
throttle_subject throttle_keys(std::string_view login, std::string_view client,
                               std::string_view delimiters);

struct attempt {
    throttle_counts before;  // failures before this attempt, in flight ones included
    int64_t bucket = 0;      // where it was counted (for end_attempt)
};

// The failures that count: the client's, and the login's unless the client is trusted for it
// (so an attack on a login from elsewhere does not lock out its owner).
uint64_t counted_failures(const throttle_counts& c);

// n counted failures: no delay up to free_failures; then base_delay doubling per failure up to
// max_delay; refuse from block_after on (only when the client is known). Disabled limits give
// {0, false}.
throttle_decision decide(const throttle_counts& c, const throttle_limits& l);

}  // namespace vhostmail::auth
