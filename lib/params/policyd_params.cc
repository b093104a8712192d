// SPDX-License-Identifier: Apache-2.0
#include "lib/params/policyd_params.hh"

#include "lib/os/command.hh"
#include "lib/policy/checks.hh"
#include "lib/policy/greylist.hh"
#include "lib/policy/rate.hh"

namespace vhostmail::params {

namespace {

constexpr int64_t day_ms = 86400'000;

void add_fault_action(config::param_table& t, const std::string& check, const char* dflt) {
    t.add({.name = "policyd_" + check + "_fault_action",
           .type = config::param_type::choice,
           .default_value = dflt,
           .doc = "answer of the " + check +
                  " check when it cannot decide (database down):"
                  " dunno (fail open) or defer (DEFER_IF_PERMIT, fail closed)",
           .choices = {"dunno", "defer"}});
}

void add_rate_rules(config::param_table& t, const std::string& subject, const std::string& doc) {
    t.add({.name = "policyd_" + subject + "_rate_limits",
           .type = config::param_type::string,
           .default_value = "",
           .doc = doc + ", as \"N UNIT/WINDOW\" items, e.g. \"30 messages/1m, 1000 recipients/1d,"
                        " 200m bytes/1d\"; empty: none"});
}

void declare(config::param_table& t) {
    using config::param_type;
    t.add({.name = "policyd_mx_listen",
           .type = param_type::list,
           .default_value = "unix:/var/spool/postfix/private/vhostmail-policy",
           .doc = "sockets for port 25 (check_policy_service in smtpd_recipient_restrictions)"});
    t.add({.name = "policyd_submission_listen",
           .type = param_type::list,
           .default_value = "unix:/var/spool/postfix/private/vhostmail-policy-submission",
           .doc = "sockets for the submission service (authenticated senders)"});
    t.add({.name = "policyd_mx_checks",
           .type = param_type::list,
           .default_value = "hosted_sender recipient rate_limit greylist",
           .doc = "checks for requests on the mx sockets (or with policy_context=mx)"});
    t.add({.name = "policyd_submission_checks",
           .type = param_type::list,
           .default_value = "sender_login recipient rate_limit",
           .doc = "checks for requests on the submission sockets (or policy_context=submission)"});
    t.add({.name = "policyd_max_staleness",
           .type = param_type::duration,
           .default_value = "1s",
           .doc = "routing data older than this is not used (the check's fault action applies)",
           .min = 100,
           .max = 3600'000});
    t.add({.name = "policyd_refresh_interval",
           .type = param_type::duration,
           .default_value = "250ms",
           .doc = "how often the routing data's change serial is polled",
           .min = 10,
           .max = 3600'000});
    t.add({.name = "policyd_idle_timeout",
           .type = param_type::duration,
           .default_value = "330s",
           .doc = "close a connection idle this long (longer than Postfix's"
                  " smtpd_policy_service_max_idle, 300s)",
           .min = 1000,
           .max = day_ms});
    t.add({.name = "policyd_request_timeout",
           .type = param_type::duration,
           .default_value = "10s",
           .doc = "time to finish reading a request that has begun, and to write a reply",
           .min = 100,
           .max = 3600'000});
    t.add({.name = "policyd_max_request_size",
           .type = param_type::size,
           .default_value = "64k",
           .doc = "longest request accepted; a longer one closes the connection",
           .min = 1024,
           .max = 16 << 20});
    t.add({.name = "policyd_hosted_sender_action",
           .type = param_type::choice,
           .default_value = "reject",
           .doc = "unauthenticated mail whose sender is in a hosted domain: reject, or warn"
                  " (log only)",
           .choices = {"reject", "warn"}});
    add_rate_rules(t, "login",
                   "budgets of each SASL login (the database's per-domain and"
                   " per-address send_limits override them)");
    add_rate_rules(t, "sender", "budgets of each envelope sender address");
    add_rate_rules(t, "client", "budgets of each unauthenticated client IP address");
    t.add({.name = "policyd_max_recipients_per_message",
           .type = param_type::integer,
           .default_value = "0",
           .doc = "recipients per message (452 4.5.3 beyond); 0: unlimited; send_limits may"
                  " override it per domain or address",
           .min = 0,
           .max = 1'000'000});
    t.add({.name = "policyd_rate_limit_action",
           .type = param_type::choice,
           .default_value = "defer",
           .doc = "a spent budget: defer (DEFER_IF_PERMIT 4.7.1, with when to retry) or reject",
           .choices = {"defer", "reject"}});
    t.add({.name = "policyd_rate_flush_interval",
           .type = param_type::duration,
           .default_value = "250ms",
           .doc = "rate counters are written to the database in batches this often",
           .min = 10,
           .max = 10'000});
    t.add({.name = "policyd_rate_refresh_interval",
           .type = param_type::duration,
           .default_value = "1s",
           .doc = "other hosts' use of a budget is re-read at most this often per counter",
           .min = 10,
           .max = 60'000});
    t.add({.name = "policyd_greylist_delay",
           .type = param_type::duration,
           .default_value = "300s",
           .doc = "a new triplet is deferred until this long after its first attempt",
           .min = 1000,
           .max = day_ms});
    t.add({.name = "policyd_greylist_retry_window",
           .type = param_type::duration,
           .default_value = "2d",
           .doc = "a retry later than delay + this starts greylisting over",
           .min = 60'000,
           .max = 30 * day_ms});
    t.add({.name = "policyd_greylist_max_age",
           .type = param_type::duration,
           .default_value = "35d",
           .doc = "passed triplets (and whitelisted clients) unused this long are forgotten",
           .min = day_ms,
           .max = 3650 * day_ms});
    t.add({.name = "policyd_greylist_ipv4_prefix",
           .type = param_type::integer,
           .default_value = "24",
           .doc = "IPv4 client addresses are greylisted by network of this prefix length",
           .min = 8,
           .max = 32});
    t.add({.name = "policyd_greylist_ipv6_prefix",
           .type = param_type::integer,
           .default_value = "64",
           .doc = "IPv6 client addresses are greylisted by network of this prefix length",
           .min = 16,
           .max = 128});
    t.add({.name = "policyd_greylist_auto_whitelist",
           .type = param_type::integer,
           .default_value = "5",
           .doc = "a client network that passed greylisting this many times is no longer"
                  " greylisted; 0: never",
           .min = 0,
           .max = 1'000'000});
    t.add({.name = "policyd_greylist_client_networks",
           .type = param_type::list,
           .default_value = "",
           .doc = "client networks never greylisted (a.b.c.d/len, x::/len)"});
    t.add({.name = "policyd_greylist_client_names",
           .type = param_type::list,
           .default_value = "",
           .doc = "verified client host names (and their subdomains) never greylisted"});
    t.add({.name = "policyd_greylist_recipient_domains",
           .type = param_type::list,
           .default_value = "",
           .doc = "recipient domains (and their subdomains) never greylisted"});
    t.add({.name = "policyd_over_quota_action",
           .type = param_type::choice,
           .default_value = "reject",
           .doc = "mail for a full mailbox: reject (5.2.2) or defer (DEFER_IF_PERMIT 4.2.2)",
           .choices = {"reject", "defer"}});
    t.add({.name = "policyd_usage_cache_time",
           .type = param_type::duration,
           .default_value = "1s",
           .doc = "how long a mailbox's usage read from the database is reused",
           .min = 0,
           .max = 3600'000});
    t.add({.name = "policyd_limit_notify",
           .type = param_type::boolean,
           .default_value = "no",
           .doc = "when a login reaches a sending limit, mail the domain's administrators (or"
                  " its postmaster), once per limit and window; turning it on needs a restart"});
    t.add({.name = "policyd_sendmail_command",
           .type = param_type::string,
           .default_value = "/usr/sbin/sendmail",
           .doc = "Postfix's sendmail (argv, no shell) for policyd_limit_notify"});
    add_fault_action(t, "sender_login", "defer");
    add_fault_action(t, "hosted_sender", "dunno");
    add_fault_action(t, "recipient", "defer");
    add_fault_action(t, "rate_limit", "dunno");
    add_fault_action(t, "greylist", "dunno");
    t.add({.name = "policyd_shard_id",
           .type = param_type::string,
           .default_value = "",
           .doc = "this instance's id for its own counter rows; empty: the host name"});
}

std::vector<config::listen_request> listeners(const config::config& cfg) {
    std::vector<config::listen_request> out;
    for (const char* profile : {"mx", "submission"}) {
        for (const auto& where : cfg.get_list(std::string("policyd_") + profile + "_listen")) {
            out.push_back({where, profile});
        }
    }
    return out;
}

std::vector<std::string> validate(const config::config& cfg) {
    std::vector<std::string> problems;
    if (listeners(cfg).empty()) {
        problems.push_back("policyd_mx_listen and policyd_submission_listen are both empty");
    }
    for (const char* subject : {"login", "sender", "client"}) {
        std::string error;
        if (!policy::parse_rate_rules(
                cfg.get_string(std::string("policyd_") + subject + "_rate_limits"), &error)) {
            problems.push_back(std::string("policyd_") + subject + "_rate_limits: " + error);
        }
    }
    for (const char* profile : {"mx", "submission"}) {
        std::string error;
        if (!policy::parse_checks(cfg.get_list(std::string("policyd_") + profile + "_checks"),
                                  &error)) {
            problems.push_back(std::string("policyd_") + profile + "_checks: " + error);
        }
    }
    std::string error;
    if (!policy::greylist_whitelist::parse(cfg.get_list("policyd_greylist_client_networks"), {}, {},
                                           &error)) {
        problems.push_back("policyd_greylist_client_networks: " + error);
    }
    auto sendmail = os::split_command(cfg.get_string("policyd_sendmail_command"));
    if (!sendmail || sendmail->empty() || !sendmail->front().starts_with('/')) {
        problems.push_back("policyd_sendmail_command must be an absolute path with arguments");
    }
    if (cfg.get_duration("policyd_refresh_interval") >= cfg.get_duration("policyd_max_staleness")) {
        problems.push_back("policyd_refresh_interval must be smaller than policyd_max_staleness");
    }
    return problems;
}

}  // namespace

const config::daemon_params policyd = {.prefix = "policyd_",
                                       .default_max_clients = 1000,  // one per smtpd process
                                       .declare = declare,
                                       .listeners = listeners,
                                       .validate = validate};

}  // namespace vhostmail::params
