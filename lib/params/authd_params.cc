// SPDX-License-Identifier: Apache-2.0
#include "lib/params/authd_params.hh"

#include "lib/config/common_params.hh"

namespace vhostmail::params {

namespace {

void declare(config::param_table& t) {
    using config::param_type;
    t.add({.name = "authd_dovecot_listen",
           .type = param_type::list,
           .default_value = "unix:/var/spool/postfix/private/vhostmail-auth",
           .doc = "Dovecot auth protocol sockets (smtpd_sasl_type = dovecot, smtpd_sasl_path)"});
    t.add({.name = "authd_saslauthd_listen",
           .type = param_type::list,
           .default_value = "",
           .doc = "saslauthd protocol sockets for Cyrus libsasl2, e.g."
                  " unix:/var/spool/postfix/var/run/saslauthd/mux"});
    t.add({.name = "authd_allow_cleartext",
           .type = param_type::boolean,
           .default_value = "no",
           .doc = "allow PLAIN/LOGIN on Dovecot-protocol requests not flagged secured (no TLS)"});
    t.add({.name = "authd_allow_plain_passwords",
           .type = param_type::boolean,
           .default_value = "no",
           .doc = "accept {PLAIN}/{CLEAR} stored passwords (never recommended)"});
    t.add({.name = "authd_rehash_weak_passwords",
           .type = param_type::boolean,
           .default_value = "no",
           .doc = "after a successful login with a hash weaker than the default, store the"
                  " password again with the default (needs UPDATE on addresses.password)"});
    t.add({.name = "authd_hash_rounds",
           .type = param_type::integer,
           .default_value = "20000",
           .doc = "SHA512-CRYPT rounds for new hashes (and the dummy hash)",
           .min = 5000,
           .max = 999999999});
    t.add({.name = "authd_hash_concurrency",
           .type = param_type::integer,
           .default_value = "0",
           .doc = "password hashes computed at once; 0 = number of CPUs",
           .min = 0,
           .max = 64});
    t.add({.name = "authd_cache_ttl",
           .type = param_type::duration,
           .default_value = "1s",
           .doc = "how long a successful login is remembered (keyed by an HMAC of the"
                  " password, never the password); keep it within lookupd_max_staleness; 0: off",
           .min = 0,
           .max = 3600'000});
    t.add({.name = "authd_throttle",
           .type = param_type::boolean,
           .default_value = "yes",
           .doc = "slow down and then refuse repeated failures (state shared in the database)"});
    t.add({.name = "authd_throttle_free_failures",
           .type = param_type::integer,
           .default_value = "3",
           .doc = "failures in the window before any delay",
           .min = 0,
           .max = 1000000});
    t.add({.name = "authd_throttle_base_delay",
           .type = param_type::duration,
           .default_value = "250ms",
           .doc = "first delay; doubles with each further failure",
           .min = 0,
           .max = 8000});
    t.add({.name = "authd_throttle_max_delay",
           .type = param_type::duration,
           .default_value = "3s",
           .doc = "longest delay (Postfix waits 10s for an answer: keep well below)",
           .min = 0,
           .max = 8000});
    t.add({.name = "authd_throttle_block_after",
           .type = param_type::integer,
           .default_value = "30",
           .doc = "failures in the window from which requests are refused unchecked",
           .min = 1,
           .max = 1000000});
    t.add({.name = "authd_throttle_window",
           .type = param_type::duration,
           .default_value = "15m",
           .doc = "how long a failure counts (minute buckets)",
           .min = 60'000,
           .max = 86400'000});
    t.add({.name = "authd_throttle_trust_time",
           .type = param_type::duration,
           .default_value = "7d",
           .doc = "a client that logged in as a login within this time is not blocked by that"
                  " login's failures from elsewhere",
           .min = 0,
           .max = 365LL * 86400'000});
    t.add({.name = "authd_shard_id",
           .type = param_type::string,
           .default_value = "",
           .doc = "this instance's id for its own counter rows; empty: the host name"});
    t.add({.name = "authd_idle_timeout",
           .type = param_type::duration,
           .default_value = "300s",
           .doc = "close an idle Dovecot-protocol client after this (Postfix: 100s)",
           .min = 1000,
           .max = 86400'000});
    t.add({.name = "authd_request_timeout",
           .type = param_type::duration,
           .default_value = "10s",
           .doc = "time to finish reading a request that has begun, and to write a reply",
           .min = 100,
           .max = 3600'000});
}

std::vector<config::listen_request> listeners(const config::config& cfg) {
    std::vector<config::listen_request> out;
    for (const auto& where : cfg.get_list("authd_dovecot_listen")) {
        out.push_back({where, "dovecot"});
    }
    for (const auto& where : cfg.get_list("authd_saslauthd_listen")) {
        out.push_back({where, "saslauthd"});
    }
    return out;
}

std::vector<std::string> validate(const config::config& cfg) {
    std::vector<std::string> problems;
    if (cfg.get_list("authd_dovecot_listen").empty() &&
        cfg.get_list("authd_saslauthd_listen").empty()) {
        problems.push_back("authd_dovecot_listen and authd_saslauthd_listen are both empty");
    }
    if (cfg.get_duration("authd_throttle_base_delay") >
        cfg.get_duration("authd_throttle_max_delay")) {
        problems.push_back("authd_throttle_base_delay must not exceed authd_throttle_max_delay");
    }
    return problems;
}

}  // namespace

const config::daemon_params authd = {.prefix = "authd_",
                                     .default_max_clients = 200,
                                     .declare = declare,
                                     .listeners = listeners,
                                     .validate = validate};

auth::throttle_limits authd_throttle_limits(const config::config& cfg) {
    auth::throttle_limits t;
    t.enabled = cfg.get_bool("authd_throttle");
    t.free_failures = static_cast<uint64_t>(cfg.get_int("authd_throttle_free_failures"));
    t.base_delay = cfg.get_duration("authd_throttle_base_delay");
    t.max_delay = cfg.get_duration("authd_throttle_max_delay");
    t.block_after = static_cast<uint64_t>(cfg.get_int("authd_throttle_block_after"));
    t.window =
        std::chrono::duration_cast<std::chrono::seconds>(cfg.get_duration("authd_throttle_window"));
    t.trust_time = std::chrono::duration_cast<std::chrono::seconds>(
        cfg.get_duration("authd_throttle_trust_time"));
    return t;
}

unsigned authd_hash_rounds(const config::config& cfg) {
    return static_cast<unsigned>(cfg.get_int("authd_hash_rounds"));
}

}  // namespace vhostmail::params
