// SPDX-License-Identifier: Apache-2.0
#include "daemons/policyd/settings.hh"

#include <unistd.h>

#include "lib/config/common_params.hh"
#include "lib/log/log.hh"
#include "lib/os/command.hh"
#include "lib/os/sandbox.hh"
#include "lib/vhost/routing_settings.hh"

namespace vhostmail::policyd {

namespace {

fault_action fault_from(const config::config& cfg, const std::string& check) {
    return cfg.get_string("policyd_" + check + "_fault_action") == "defer" ? fault_action::defer
                                                                           : fault_action::dunno;
}

std::vector<policy::rate_rule> rules_from(const config::config& cfg, const std::string& subject,
                                          std::string* error = nullptr) {
    auto rules =
        policy::parse_rate_rules(cfg.get_string("policyd_" + subject + "_rate_limits"), error);
    return rules ? *rules : std::vector<policy::rate_rule>{};
}

}  // namespace

engine_settings engine_settings_from(const config::config& cfg) {
    engine_settings s;
    s.resolve = vhost::routing_options(cfg);
    s.routing_freshness.max_staleness = cfg.get_duration("policyd_max_staleness");
    s.hosted_sender_reject = cfg.get_string("policyd_hosted_sender_action") == "reject";
    s.budgets.login = rules_from(cfg, "login");
    s.budgets.sender = rules_from(cfg, "sender");
    s.budgets.client = rules_from(cfg, "client");
    s.budgets.delimiters = cfg.get_string(config::common::recipient_delimiter);
    s.budgets.recipients_per_message =
        static_cast<uint64_t>(cfg.get_int("policyd_max_recipients_per_message"));
    s.rate_reject = cfg.get_string("policyd_rate_limit_action") == "reject";
    s.greylist_delay_s = cfg.get_duration("policyd_greylist_delay").count() / 1000;
    s.greylist_retry_window_s = cfg.get_duration("policyd_greylist_retry_window").count() / 1000;
    s.greylist_ipv4_prefix = static_cast<unsigned>(cfg.get_int("policyd_greylist_ipv4_prefix"));
    s.greylist_ipv6_prefix = static_cast<unsigned>(cfg.get_int("policyd_greylist_ipv6_prefix"));
    s.greylist_auto_whitelist =
        static_cast<uint64_t>(cfg.get_int("policyd_greylist_auto_whitelist"));
    s.whitelist = *policy::greylist_whitelist::parse(
        cfg.get_list("policyd_greylist_client_networks"),
        cfg.get_list("policyd_greylist_client_names"),
        cfg.get_list("policyd_greylist_recipient_domains"), nullptr);
    s.over_quota_reject = cfg.get_string("policyd_over_quota_action") == "reject";
    if (cfg.get_bool("policyd_limit_notify")) {
        if (os::program_runner_started()) {
            s.notify_sendmail = os::split_command(cfg.get_string("policyd_sendmail_command"))
                                    .value_or(std::vector<std::string>{});
        } else {
            // The runner is started only at start, when notices are on (main.cc).
            log::warning(
                "policyd_limit_notify = yes takes effect when vhostmail-policyd is"
                " restarted; no notice is sent until then");
        }
    }
    char host[256] = {};
    s.hostname = gethostname(host, sizeof(host) - 1) == 0 ? host : "localhost";
    s.sender_login_fault = fault_from(cfg, "sender_login");
    s.hosted_sender_fault = fault_from(cfg, "hosted_sender");
    s.recipient_fault = fault_from(cfg, "recipient");
    s.rate_limit_fault = fault_from(cfg, "rate_limit");
    s.greylist_fault = fault_from(cfg, "greylist");
    return s;
}

store_settings store_settings_from(const config::config& cfg) {
    store_settings s;
    s.flush_interval = cfg.get_duration("policyd_rate_flush_interval");
    s.refresh_interval = cfg.get_duration("policyd_rate_refresh_interval");
    s.usage_cache_time = cfg.get_duration("policyd_usage_cache_time");
    int64_t max_age = cfg.get_duration("policyd_greylist_max_age").count() / 1000;
    s.greylist_max_age_s = max_age;
    s.auto_whitelist_age_s = max_age;
    s.greylist_stale_s = (cfg.get_duration("policyd_greylist_delay").count() +
                          cfg.get_duration("policyd_greylist_retry_window").count()) /
                         1000;
    return s;
}

unsigned checks_for(const config::config& cfg, const std::string& profile) {
    return policy::parse_checks(cfg.get_list("policyd_" + profile + "_checks"), nullptr)
        .value_or(0);
}

}  // namespace vhostmail::policyd
