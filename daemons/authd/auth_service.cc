// SPDX-License-Identifier: Apache-2.0
#include "daemons/authd/auth_service.hh"

#include <algorithm>
#include <stdexcept>
#include <thread>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::authd {

namespace {

// A random password for the dummy hash: printable, never empty, never containing NUL.
std::string random_phrase() {
    std::string bytes = crypto::random_bytes(16);
    std::string out;
    for (unsigned char c : bytes) {
        out += static_cast<char>('a' + c % 26);
    }
    crypto::wipe(bytes);
    return out;
}

}  // namespace

unsigned service_bit(std::string_view service) {
    std::string s = ascii_lower(service);
    if (s == "smtp" || s == "submission" || s == "smtps") {
        return vhost::login_smtp;
    }
    if (s == "imap") {
        return vhost::login_imap;
    }
    if (s == "pop3" || s == "pop") {
        return vhost::login_pop3;
    }
    if (s == "sieve" || s == "managesieve") {
        return vhost::login_sieve;
    }
    return 0;
}

authenticator::authenticator(auth_store& store, auth_settings s, unsigned max_concurrent_hashes,
                             sleep_fn sleep, clock_fn now)
    : store_(store),
      hashing_(static_cast<std::ptrdiff_t>(std::clamp(max_concurrent_hashes, 1u, 64u))),
      sleep_(sleep ? std::move(sleep)
                   : sleep_fn([](std::chrono::milliseconds d) { std::this_thread::sleep_for(d); })),
      now_(now ? std::move(now) : clock_fn([] { return std::chrono::steady_clock::now(); })),
      cache_secret_(crypto::random_bytes(32)) {
    set_settings(std::move(s));
}

void authenticator::set_settings(auth_settings s) {
    std::string dummy;
    if (s.hash_rounds != dummy_rounds_ || dummy_hash_.empty()) {
        auto made = crypto::hash_password(random_phrase(), s.hash_rounds);
        if (!made) {
            throw std::runtime_error("cannot create the dummy password hash");
        }
        dummy = std::move(*made);
    }
    std::lock_guard lock(mu_);
    if (!dummy.empty()) {
        dummy_hash_ = std::move(dummy);
        dummy_rounds_ = s.hash_rounds;
    }
    settings_ = std::move(s);
    cache_.clear();
}

size_t authenticator::cache_size() const {
    std::lock_guard lock(mu_);
    return cache_.size();
}

crypto::verify_status authenticator::verify(std::string_view password, std::string_view stored,
                                            const crypto::verify_options& o) {
    hashing_.acquire();
    auto r = crypto::verify_password(password, stored, o);
    hashing_.release();
    return r;
}

std::string authenticator::cache_key(std::string_view user, std::string_view service,
                                     std::string_view password, std::string_view client) const {
    std::string data;
    data.reserve(user.size() + service.size() + password.size() + client.size() + 3);
    data.append(user).append(1, '\0').append(ascii_lower(service)).append(1, '\0');
    data.append(client).append(1, '\0').append(password);
    std::string key = crypto::keyed_digest(cache_secret_, data);
    crypto::wipe(data);
    return key;
}

bool authenticator::cache_hit(const std::string& key, const auth_settings& s) {
    if (s.cache_ttl.count() <= 0) {
        return false;
    }
    std::lock_guard lock(mu_);
    auto it = cache_.find(key);
    if (it == cache_.end()) {
        return false;
    }
    if (it->second.expires <= now_()) {
        cache_.erase(it);
        return false;
    }
    return true;
}

void authenticator::cache_put(std::string key, const auth_settings& s) {
    if (s.cache_ttl.count() <= 0) {
        return;
    }
    auto now = now_();
    std::lock_guard lock(mu_);
    if (cache_.size() >= s.cache_max_entries) {
        std::erase_if(cache_, [now](const auto& e) { return e.second.expires <= now; });
        if (cache_.size() >= s.cache_max_entries) {
            cache_.clear();  // all fresh: a burst of distinct logins; start over rather than grow
        }
    }
    cache_[std::move(key)] = {now + s.cache_ttl};
}

auth_answer authenticator::authenticate(const auth_request& r) {
    auth_settings s;
    {
        std::lock_guard lock(mu_);
        s = settings_;
    }
    auto parsed = parse_address(r.login);
    std::string user = parsed ? parsed->local + "@" + parsed->domain : ascii_lower(r.login);
    // The client is part of the key: a success, cached or under way, is shared only with the
    // client that earned it, never with one the throttle would refuse.
    throttle_subject who = auth::throttle_keys(user, r.client, s.delimiters);
    if (!parsed) {
        return attempt_login(r, user, who, s, {});
    }
    std::string key = cache_key(user, r.service, r.password, who.client);
    if (cache_hit(key, s)) {
        return {auth_status::ok, user, "cached"};
    }
    auto f = std::make_shared<flight>();
    {
        std::unique_lock lock(mu_);
        auto [it, leader] = flights_.try_emplace(key, f);
        if (!leader) {
            f = nullptr;
            std::shared_ptr<flight> ahead = it->second;
            bool landed =
                ahead->cv.wait_for(lock, flight_wait_limit, [&] { return ahead->landed; });
            if (landed && ahead->status == auth_status::ok) {
                return {auth_status::ok, user, "verified with an identical request"};
            }
            // Refused, deferred or stuck: this one is checked and counted on its own.
        }
    }
    if (!f) {
        return attempt_login(r, user, who, s, std::move(key));
    }
    auth_answer a;
    try {
        a = attempt_login(r, user, who, s, key);
    } catch (...) {
        land(key, *f, auth_status::temp_fail);
        throw;
    }
    land(key, *f, a.status);
    return a;
}

void authenticator::land(const std::string& key, flight& f, auth_status status) {
    std::lock_guard lock(mu_);
    f.landed = true;
    f.status = status;
    flights_.erase(key);
    f.cv.notify_all();
}

auth_answer authenticator::attempt_login(const auth_request& r, const std::string& user,
                                         const throttle_subject& who, const auth_settings& s,
                                         std::string key) {
    auto begun = store_.begin_attempt(who);
    if (begun.status == lookup_status::temp_fail) {
        return {auth_status::temp_fail, user, "throttle state: " + begun.reason};
    }
    throttle_decision d = auth::decide(begun.value.before, s.throttle);
    if (d.delay.count() > 0) {
        sleep_(d.delay);
    }
    if (d.refuse) {
        store_.end_attempt(who, begun.value, attempt_end::refused);
        return {auth_status::failed, user, "too many failures, refused", d.delay.count() > 0, true};
    }
    auth_answer a = check(r, user, s);
    a.delayed = d.delay.count() > 0;
    if (a.status == auth_status::ok) {
        store_.end_attempt(who, begun.value, attempt_end::succeeded);
        if (!key.empty()) {
            cache_put(std::move(key), s);
        }
    } else if (a.status == auth_status::failed) {
        store_.end_attempt(who, begun.value, attempt_end::failed);
    } else {
        store_.end_attempt(who, begun.value, attempt_end::refused);  // not the client's fault
    }
    return a;
}

auth_answer authenticator::check(const auth_request& r, const std::string& user,
                                 const auth_settings& s) {
    std::string dummy;
    {
        std::lock_guard lock(mu_);
        dummy = dummy_hash_;
    }
    auto refuse = [&](std::string why) {
        (void)verify(r.password, dummy, {});
        return auth_answer{auth_status::failed, user, std::move(why)};
    };
    auto parsed = parse_address(r.login);
    if (!parsed) {
        return refuse("not a valid address");
    }
    auto found = store_.find_user(parsed->local, parsed->domain);
    if (found.status == lookup_status::temp_fail) {
        return {auth_status::temp_fail, user, found.reason};
    }
    if (found.status == lookup_status::not_found) {
        return refuse("unknown user");
    }
    const user_record& u = found.value;
    unsigned bit = service_bit(r.service);
    if (!u.domain_enabled) {
        return refuse("domain disabled");
    }
    if (!u.enabled) {
        return refuse("address disabled");
    }
    if (u.password_hash.empty()) {
        return refuse("no password");
    }
    if (bit == 0) {
        return refuse("unknown service " + log_field(r.service));
    }
    if ((u.domain_logins & bit) == 0) {
        return refuse("service " + log_field(r.service) + " locked for the domain");
    }
    if ((u.logins & bit) == 0) {
        return refuse("service " + log_field(r.service) + " locked for the address");
    }
    switch (verify(r.password, u.password_hash, s.verify)) {
        case crypto::verify_status::match:
            break;
        case crypto::verify_status::mismatch:
            return {auth_status::failed, user, "password mismatch"};
        case crypto::verify_status::unusable:
            // Locked or unknown scheme: same cost as a real mismatch.
            return refuse("stored password hash unusable (scheme " +
                          (crypto::scheme_of(u.password_hash).empty()
                               ? std::string("unknown")
                               : crypto::scheme_of(u.password_hash)) +
                          ")");
    }
    if (s.rehash_weak && crypto::weaker_than_default(u.password_hash, s.hash_rounds)) {
        if (auto fresh = crypto::hash_password(r.password, s.hash_rounds)) {
            store_.update_hash(parsed->local, parsed->domain, u.password_hash, *fresh);
        }
    }
    return {auth_status::ok, user, ""};
}

}  // namespace vhostmail::authd
