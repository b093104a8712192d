// SPDX-License-Identifier: Apache-2.0
// auth_service.hh - who may log in, independent of wire protocols and of the database.
// A login succeeds when: the login is a valid full address of a hosted (canonical) domain, the
// address exists and is enabled, its domain is enabled, it has a password, logins for the
// requested service are allowed by both the domain and the address, the throttle does not
// refuse it, and the password verifies. Domain aliases do not log in: "joe@alias.example" is
// refused like an unknown user (one login name per account, so sasl_username, sender login maps
// and throttling all see one spelling). Every refusal is the same answer after the same work as
// a wrong password (a hash of the same scheme and cost is verified), so logins cannot be probed.
// Database trouble anywhere is temp_fail, never "failed".
// Identical requests (login, service, password, client) at the same moment are verified once:
// the others wait and share a success, or go on one by one after a refusal. Every attempt under way
// counts as a failure of its client until it ends (lib/auth/throttle_store.hh), so without this
// a crowd of correct logins of one account from one client (an IMAP client's connections, a
// busy relay, the moment the cache expires) would reach block_after and refuse itself.
// Thread safety: authenticate() may be called from many threads at once.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <semaphore>
#include <string>
#include <string_view>
#include <unordered_map>

#include "lib/auth/throttle.hh"
#include "lib/core/lookup.hh"
#include "lib/crypto/password.hh"

namespace vhostmail::authd {

// Login throttling is lib/auth's, shared with the admin tool's sign-in.
using auth::attempt;
using auth::attempt_end;
using auth::throttle_counts;
using auth::throttle_decision;
using auth::throttle_limits;
using auth::throttle_subject;

struct user_record {
    std::string password_hash;  // "" when the address has no password
    bool enabled = false;
    bool domain_enabled = false;
    unsigned logins = 0;         // vhost::login_service bits of the address
    unsigned domain_logins = 0;  // ... and of its domain
};

// Where accounts and throttling state live (the database; fakes in unit tests).
class auth_store {
public:
    virtual ~auth_store() = default;
    // The account local@domain (both normalized). not_found for unknown ones, temp_fail on trouble.
    virtual lookup<user_record> find_user(std::string_view local, std::string_view domain) = 0;
    // Counts an attempt as a failure before its password is checked (throttle_store.hh) and
    // returns the failures before it; temp_fail on trouble.
    virtual lookup<attempt> begin_attempt(const throttle_subject& who) = 0;
    // Best effort: a failure to record must not turn an answer into temp_fail.
    virtual void end_attempt(const throttle_subject& who, const attempt& a, attempt_end how) = 0;
    // Replaces the stored hash if it is still `old_hash` (rehash on login). Best effort.
    virtual void update_hash(std::string_view local, std::string_view domain,
                             std::string_view old_hash, std::string_view new_hash) = 0;
};

struct auth_settings {
    throttle_limits throttle;
    crypto::verify_options verify;
    bool rehash_weak = false;
    unsigned hash_rounds = crypto::default_sha512_rounds;
    std::chrono::milliseconds cache_ttl{1000};  // 0: no cache
    size_t cache_max_entries = 10000;
    std::string delimiters = "+";  // recipient_delimiter: login extensions share a counter
};

struct auth_request {
    std::string_view login;     // as the client typed it
    std::string_view password;  // never stored, logged or cached
    std::string_view service;   // "smtp", "imap", ... as the protocol names it
    std::string_view client;    // client address, "" when unknown ("uid:N": a local user)
};

enum class auth_status { ok, failed, temp_fail };

struct auth_answer {
    auth_status status = auth_status::failed;
    std::string user;        // canonical login (lower case) on ok
    std::string reason;      // for the log only: why it failed (never the password)
    bool delayed = false;    // the throttle held the answer back
    bool throttled = false;  // the throttle refused it without checking the password
};

class authenticator {
public:
    using sleep_fn = std::function<void(std::chrono::milliseconds)>;
    using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

    // `sleep`/`now` default to the real ones (tests inject fakes). `max_concurrent_hashes` bounds
    // simultaneous hash computations (CPU- or memory-hard).
    authenticator(auth_store& store, auth_settings s, unsigned max_concurrent_hashes = 2,
                  sleep_fn sleep = {}, clock_fn now = {});

    auth_answer authenticate(const auth_request& r);

    void set_settings(auth_settings s);
    size_t cache_size() const;

private:
    struct cache_entry {
        std::chrono::steady_clock::time_point expires;
    };

    // One verification of a (login, service, password) under way; requests with the same cache
    // key that arrive meanwhile wait for its end instead of starting their own.
    struct flight {
        bool landed = false;
        auth_status status = auth_status::failed;
        std::condition_variable cv;
    };

    auth_answer attempt_login(const auth_request& r, const std::string& user,
                              const throttle_subject& who, const auth_settings& s, std::string key);
    void land(const std::string& key, flight& f, auth_status status);
    auth_answer check(const auth_request& r, const std::string& user, const auth_settings& s);
    crypto::verify_status verify(std::string_view password, std::string_view stored,
                                 const crypto::verify_options& o);
    std::string cache_key(std::string_view user, std::string_view service,
                          std::string_view password, std::string_view client) const;
    bool cache_hit(const std::string& key, const auth_settings& s);
    void cache_put(std::string key, const auth_settings& s);

    auth_store& store_;
    mutable std::mutex mu_;
    auth_settings settings_;
    std::counting_semaphore<64> hashing_;
    sleep_fn sleep_;
    clock_fn now_;
    // Refusals verify the password against a dummy hash of the default scheme and cost
    // (authd_hash_rounds), made at start and on a change of the cost: the same work, whatever
    // the refused account's own hash is or was, so the time of an answer tells nothing about
    // which accounts exist or what scheme they use. The result of that check is ignored.
    std::string dummy_hash_;
    unsigned dummy_rounds_ = 0;
    std::string cache_secret_;
    std::unordered_map<std::string, cache_entry> cache_;
    std::unordered_map<std::string, std::shared_ptr<flight>> flights_;
};

// How long a request waits for an identical one under way before it goes on alone: longer than
// a normal answer takes (the default throttle delays are at most 3 s), short enough that going
// on alone after it still answers before Postfix gives up (10 s).
inline constexpr std::chrono::seconds flight_wait_limit{5};

// The login_service bit for a service name (smtp, submission -> smtp; imap; pop3; sieve,
// managesieve); 0 for unknown services, which nobody may use.
unsigned service_bit(std::string_view service);

}  // namespace vhostmail::authd
