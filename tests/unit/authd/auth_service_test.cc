// SPDX-License-Identifier: Apache-2.0
#include "daemons/authd/auth_service.hh"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "lib/vhost/schema.hh"

using namespace vhostmail;
using namespace vhostmail::authd;
using namespace std::chrono_literals;

namespace {

constexpr unsigned all_services =
    vhost::login_smtp | vhost::login_imap | vhost::login_pop3 | vhost::login_sieve;

// Accounts and throttle state in memory; counts what the authenticator asked for.
class fake_store final : public auth_store {
public:
    std::map<std::string, user_record> users;  // "local@domain"
    bool down = false;
    throttle_counts counts;
    int finds = 0, failures = 0, successes = 0, refusals = 0;
    std::vector<throttle_subject> subjects;
    std::vector<std::string> updated;

    lookup<user_record> find_user(std::string_view local, std::string_view domain) override {
        ++finds;
        if (down) {
            return lookup<user_record>::temp_fail("down");
        }
        auto it = users.find(std::string(local) + "@" + std::string(domain));
        return it == users.end() ? lookup<user_record>::not_found()
                                 : lookup<user_record>::found(it->second);
    }

    lookup<attempt> begin_attempt(const throttle_subject& who) override {
        subjects.push_back(who);
        if (down) {
            return lookup<attempt>::temp_fail("down");
        }
        attempt a;
        a.before = counts;
        a.before.client_known = !who.client.empty();
        return lookup<attempt>::found(a);
    }

    void end_attempt(const throttle_subject&, const attempt&, attempt_end how) override {
        (how == attempt_end::failed      ? failures
         : how == attempt_end::succeeded ? successes
                                         : refusals)++;
    }

    void update_hash(std::string_view l, std::string_view d, std::string_view,
                     std::string_view h) override {
        updated.push_back(std::string(l) + "@" + std::string(d) + " " + std::string(h));
    }
};

user_record account(std::string hash) {
    return {std::move(hash), true, true, all_services, all_services};
}

struct fixture {
    fake_store store;
    std::vector<std::chrono::milliseconds> sleeps;
    std::chrono::steady_clock::time_point now{};
    authenticator auth;

    explicit fixture(auth_settings s = quick())
        : auth(
              store, s, 2, [this](std::chrono::milliseconds d) { sleeps.push_back(d); },
              [this] { return now; }) {
        store.users["joe@example.com"] = account(*crypto::hash_password("s3cret", 5000));
    }

    static auth_settings quick() {
        auth_settings s;
        s.hash_rounds = 5000;
        s.cache_ttl = 0ms;
        return s;
    }

    auth_answer login(std::string_view user, std::string_view pw, std::string_view svc = "smtp") {
        return auth.authenticate({user, pw, svc, "192.0.2.1"});
    }
};

}  // namespace

TEST_CASE("a good password logs in with the canonical login") {
    fixture f;
    auto a = f.login("Joe@Example.COM", "s3cret");
    CHECK(a.status == auth_status::ok);
    CHECK(a.user == "joe@example.com");
    CHECK(f.store.successes == 1);
    CHECK(f.store.failures == 0);
}

TEST_CASE("every refusal is the same answer and is counted") {
    struct refusal {
        const char* name;
        std::function<void(fake_store&)> setup;
        std::string login, password, service, reason;
    };

    const refusal cases[] = {
        {"wrong password", {}, "joe@example.com", "wrong", "smtp", "password mismatch"},
        {"unknown user", {}, "nobody@example.com", "s3cret", "smtp", "unknown user"},
        {"not an address", {}, "joe", "s3cret", "smtp", "not a valid address"},
        {"alias domain", {}, "joe@alias.example", "s3cret", "smtp", "unknown user"},
        {"no password", [](fake_store& s) { s.users["joe@example.com"].password_hash = ""; },
         "joe@example.com", "s3cret", "smtp", "no password"},
        {"address disabled", [](fake_store& s) { s.users["joe@example.com"].enabled = false; },
         "joe@example.com", "s3cret", "smtp", "address disabled"},
        {"domain disabled",
         [](fake_store& s) { s.users["joe@example.com"].domain_enabled = false; },
         "joe@example.com", "s3cret", "smtp", "domain disabled"},
        {"smtp locked for the domain",
         [](fake_store& s) { s.users["joe@example.com"].domain_logins = vhost::login_imap; },
         "joe@example.com", "s3cret", "smtp", "service smtp locked for the domain"},
        {"imap locked for the address",
         [](fake_store& s) { s.users["joe@example.com"].logins = vhost::login_smtp; },
         "joe@example.com", "s3cret", "imap", "service imap locked for the address"},
        {"unknown service", {}, "joe@example.com", "s3cret", "ftp", "unknown service ftp"},
        {"locked hash", [](fake_store& s) { s.users["joe@example.com"].password_hash = "!x"; },
         "joe@example.com", "s3cret", "smtp", "stored password hash unusable (scheme unknown)"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.name);
        fixture f;
        if (c.setup) {
            c.setup(f.store);
        }
        auto a = f.login(c.login, c.password, c.service);
        CHECK(a.status == auth_status::failed);
        CHECK(a.reason == c.reason);
        CHECK(f.store.failures == 1);
        CHECK(f.store.successes == 0);
    }
}

TEST_CASE("other services log in when allowed") {
    fixture f;
    CHECK(f.login("joe@example.com", "s3cret", "imap").status == auth_status::ok);
    CHECK(f.login("joe@example.com", "s3cret", "POP3").status == auth_status::ok);
    CHECK(service_bit("submission") == vhost::login_smtp);
    CHECK(service_bit("managesieve") == vhost::login_sieve);
    CHECK(service_bit("") == 0);
}

TEST_CASE("database trouble is a temporary failure, never a refusal") {
    fixture f;
    f.store.down = true;
    auto a = f.login("joe@example.com", "s3cret");
    CHECK(a.status == auth_status::temp_fail);
    CHECK(f.store.failures == 0);
}

TEST_CASE("throttling delays and refuses before the password is checked") {
    fixture f;
    f.store.counts.client_failures = 5;
    CHECK(f.login("joe@example.com", "s3cret").status == auth_status::ok);
    REQUIRE(f.sleeps.size() == 1);
    CHECK(f.sleeps[0] == 500ms);
    f.store.counts.client_failures = 30;
    int finds = f.store.finds;
    auto a = f.login("joe@example.com", "s3cret");
    CHECK(a.status == auth_status::failed);
    CHECK(a.reason == "too many failures, refused");
    CHECK(f.store.finds == finds);  // not even looked up
    CHECK(f.store.failures == 0);   // refusals are not counted again
    CHECK(f.store.refusals == 1);   // the count made at the start is taken back
}

TEST_CASE("throttling: without a client address (saslauthd) a login is delayed, never locked") {
    fixture f;
    f.store.counts.login_failures = 1000;
    auto a = f.auth.authenticate({"joe@example.com", "s3cret", "smtp", ""});
    CHECK(a.status == auth_status::ok);
    REQUIRE(f.sleeps.size() == 1);
    CHECK(f.sleeps[0] == 3000ms);
    CHECK(f.auth.authenticate({"joe@example.com", "s3cret", "smtp", "192.0.2.1"}).status ==
          auth_status::failed);  // from a known, untrusted client the lock holds
}

TEST_CASE("throttling: case, +extension and IPv6 /64 variants are one subject") {
    fixture f;
    (void)f.auth.authenticate({"Joe+x@Example.COM", "x", "smtp", "2001:db8:1:2::10"});
    (void)f.auth.authenticate({"joe@example.com", "x", "smtp", "2001:db8:1:2:ffff::1"});
    REQUIRE(f.store.subjects.size() == 2);
    CHECK(f.store.subjects[0].login == "joe@example.com");
    CHECK(f.store.subjects[0].client == "2001:db8:1:2::/64");
    CHECK(f.store.subjects[0].login == f.store.subjects[1].login);
    CHECK(f.store.subjects[0].client == f.store.subjects[1].client);
}

TEST_CASE("cache: a repeat login within the ttl skips the store; a new password does not hit") {
    auto s = fixture::quick();
    s.cache_ttl = 1000ms;
    fixture f(s);
    CHECK(f.login("joe@example.com", "s3cret").status == auth_status::ok);
    int finds = f.store.finds;
    CHECK(f.auth.cache_size() == 1);
    CHECK(f.login("joe@example.com", "s3cret").status == auth_status::ok);
    CHECK(f.store.finds == finds);
    CHECK(f.login("joe@example.com", "s3creT").status == auth_status::failed);
    CHECK(f.login("joe@example.com", "s3cret", "imap").status == auth_status::ok);
    CHECK(f.store.finds == finds + 2);
    // After the ttl the store is asked again: a disabled address stops working.
    f.store.users["joe@example.com"].enabled = false;
    f.now += 999ms;
    CHECK(f.login("joe@example.com", "s3cret").status == auth_status::ok);
    f.now += 1ms;
    CHECK(f.login("joe@example.com", "s3cret").status == auth_status::failed);
}

TEST_CASE("cache: a success is shared only with the client that earned it") {
    auto s = fixture::quick();
    s.cache_ttl = 1000ms;
    fixture f(s);
    CHECK(f.auth.authenticate({"joe@example.com", "s3cret", "smtp", "192.0.2.1"}).status ==
          auth_status::ok);
    // Another client, already past block_after: the right password does not get it in through
    // the first client's cached success.
    f.store.counts.client_failures = 30;
    auto other = f.auth.authenticate({"joe@example.com", "s3cret", "smtp", "198.51.100.9"});
    CHECK(other.status == auth_status::failed);
    CHECK(other.throttled);
    CHECK(f.auth.authenticate({"joe@example.com", "s3cret", "smtp", "192.0.2.1"}).reason ==
          "cached");
}

TEST_CASE("rehash on login replaces weaker hashes only when enabled") {
    auto s = fixture::quick();
    s.rehash_weak = true;
    s.hash_rounds = 5001;
    fixture f(s);
    f.store.users["ann@example.com"] = account("{SSHA}uJDd0BIdJ9Z7yDCZNWdgYeb33+cBAgME");
    CHECK(f.login("ann@example.com", "secret").status == auth_status::ok);
    REQUIRE(f.store.updated.size() == 1);
    CHECK(f.store.updated[0].starts_with("ann@example.com {SHA512-CRYPT}$6$rounds=5001$"));
    CHECK(f.login("ann@example.com", "wrong").status == auth_status::failed);
    CHECK(f.store.updated.size() == 1);
}

TEST_CASE("refusals cost the configured default hash, whatever accounts were seen before") {
    auto s = fixture::quick();
    s.hash_rounds = 100000;  // the dummy: as expensive as a new hash of the default cost
    fixture f(s);
    f.store.users["fast@example.com"] = account("$1$abcdefgh$cHJi5PXp/ki/ktXzqlk6I1");
    auto time_of = [&](std::string_view login, std::string_view pw) {
        auto t = std::chrono::steady_clock::now();
        (void)f.login(login, pw);
        return std::chrono::steady_clock::now() - t;
    };
    auto unknown_before = time_of("nobody@example.com", "x");
    auto wrong_fast = time_of("fast@example.com", "x");
    auto unknown_after = time_of("nobody@example.com", "x");
    CHECK(unknown_before > 10 * wrong_fast);  // 100000 SHA-512 rounds vs one MD5-crypt
    // Seeing a cheap account hash does not make refusals cheap (they used to be timed against
    // the last real hash seen, so their cost told which scheme the last account used).
    CHECK(unknown_after * 4 > unknown_before);
}

namespace {

// Like the database's throttle state (lib/auth/throttle_store.hh): an attempt counts as a
// failure of its client from its start, and a success or refusal takes that back. Thread-safe;
// find_user holds the first lookups until every request has begun its attempt (or a moment has
// passed), so the requests really are under way together.
class crowded_store final : public auth_store {
public:
    explicit crowded_store(int crowd) : crowd_(crowd) {}

    std::atomic<int> entered{0};
    std::atomic<int> begun{0}, finds{0}, failures{0}, successes{0}, refusals{0};
    user_record joe = account(*crypto::hash_password("s3cret", 5000));

    lookup<user_record> find_user(std::string_view local, std::string_view) override {
        ++finds;
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, 300ms, [this] { return begun == crowd_; });
        return local == "joe" ? lookup<user_record>::found(joe) : lookup<user_record>::not_found();
    }

    lookup<attempt> begin_attempt(const throttle_subject& who) override {
        std::lock_guard lock(mu_);
        attempt a;
        a.before.client_failures = in_count_[who.client]++;
        ++begun;
        cv_.notify_all();
        return lookup<attempt>::found(a);
    }

    void end_attempt(const throttle_subject& who, const attempt&, attempt_end how) override {
        std::lock_guard lock(mu_);
        if (how != attempt_end::failed) {
            --in_count_[who.client];
        }
        (how == attempt_end::failed      ? failures
         : how == attempt_end::succeeded ? successes
                                         : refusals)++;
    }

    void update_hash(std::string_view, std::string_view, std::string_view,
                     std::string_view) override {}

private:
    const int crowd_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::string, uint64_t> in_count_;
};

// `crowd` requests for joe@example.com from one client at once; the answers' statuses.
std::vector<auth_status> crowd_login(crowded_store& store, int crowd, std::string_view password) {
    auth_settings s = fixture::quick();  // no cache: every request that is not shared is checked
    authenticator auth(store, s, 2, [](std::chrono::milliseconds) {});
    std::vector<auth_status> statuses(static_cast<size_t>(crowd));
    std::vector<std::thread> threads;
    for (int i = 0; i < crowd; ++i) {
        threads.emplace_back([&, i] {
            ++store.entered;
            statuses[static_cast<size_t>(i)] =
                auth.authenticate({"joe@example.com", password, "imap", "192.0.2.7"}).status;
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    return statuses;
}

}  // namespace

TEST_CASE("a crowd of identical correct logins from one client is not refused by its own count") {
    // The full soak's finding: once the cache expired, 500 connections logging in as one user
    // from one client counted each other's attempts under way and passed block_after.
    constexpr int crowd = 64;
    crowded_store store(crowd);
    auto statuses = crowd_login(store, crowd, "s3cret");
    CHECK(std::count(statuses.begin(), statuses.end(), auth_status::ok) == crowd);
    CHECK(store.refusals == 0);
    CHECK(store.finds < crowd / 2);  // shared, not verified one by one
}

TEST_CASE("a crowd of identical wrong logins is still counted one by one") {
    constexpr int crowd = 64;
    crowded_store store(crowd);
    auto statuses = crowd_login(store, crowd, "guess");
    CHECK(std::count(statuses.begin(), statuses.end(), auth_status::failed) == crowd);
    CHECK(store.begun == crowd);  // every guess reached the throttle
    CHECK(store.failures + store.refusals == crowd);
    CHECK(store.refusals >= crowd - 30);  // no more than block_after were checked at once
}
