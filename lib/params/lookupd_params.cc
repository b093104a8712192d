// SPDX-License-Identifier: Apache-2.0
#include "lib/params/lookupd_params.hh"

#include "lib/srs/srs_config.hh"
#include "lib/vhost/lookup_maps.hh"

namespace vhostmail::params {

namespace {

void declare(config::param_table& t) {
    using config::param_type;
    t.add({.name = "lookupd_socketmap_listen",
           .type = param_type::list,
           .default_value = "inet:127.0.0.1:10040",
           .doc = "socketmap listeners (unix:/path or host:port); every map is served on each"});
    t.add({.name = "lookupd_tcp_listen",
           .type = param_type::list,
           .default_value = "domains=127.0.0.1:10041 aliases=127.0.0.1:10042"
                            " mailboxes=127.0.0.1:10043 senders=127.0.0.1:10044",
           .doc = "tcp_table listeners, one per map: map=host:port or map=unix:/path"});
    t.add({.name = "lookupd_max_staleness",
           .type = param_type::duration,
           .default_value = "1s",
           .doc = "never answer from data not proven current within this time (else TEMP)",
           .min = 100,
           .max = 3600'000});
    t.add({.name = "lookupd_refresh_interval",
           .type = param_type::duration,
           .default_value = "250ms",
           .doc = "how often the change serial is polled; keep it well below max_staleness",
           .min = 10,
           .max = 3600'000});
    t.add({.name = "lookupd_outage_grace",
           .type = param_type::duration,
           .default_value = "0s",
           .doc = "while the database is unreachable, keep answering from the last data proven"
                  " current for this long (0: answer TEMP after max_staleness)",
           .min = 0,
           .max = 7 * 86400'000LL});
    t.add({.name = "lookupd_socketmap_idle_timeout",
           .type = param_type::duration,
           .default_value = "100s",
           .doc = "close an idle socketmap client after this (Postfix's own idle limit is 10s)",
           .min = 1000,
           .max = 86400'000});
    t.add({.name = "lookupd_tcp_idle_timeout",
           .type = param_type::duration,
           .default_value = "0s",
           .doc = "close an idle tcp_table client after this; 0 = never (Postfix expects that)",
           .min = 0,
           .max = 86400'000});
    t.add({.name = "lookupd_request_timeout",
           .type = param_type::duration,
           .default_value = "10s",
           .doc = "time to finish reading a request that has begun, and to write its reply",
           .min = 100,
           .max = 3600'000});
}

std::vector<config::listen_request> listeners(const config::config& cfg) {
    std::vector<config::listen_request> out;
    for (const auto& where : cfg.get_list("lookupd_socketmap_listen")) {
        out.push_back({where, "socketmap"});
    }
    for (const auto& item : cfg.get_list("lookupd_tcp_listen")) {
        auto eq = item.find('=');
        std::string map = eq == std::string::npos ? std::string() : item.substr(0, eq);
        out.push_back({eq == std::string::npos ? item : item.substr(eq + 1), "tcp:" + map});
    }
    return out;
}

std::vector<std::string> validate(const config::config& cfg) {
    std::vector<std::string> problems;
    for (const auto& item : cfg.get_list("lookupd_tcp_listen")) {
        auto eq = item.find('=');
        if (eq == std::string::npos || !vhost::parse_map_name(item.substr(0, eq))) {
            problems.push_back(
                "lookupd_tcp_listen: \"" + item +
                "\" must be map=endpoint with map one of domains, aliases,"
                " mailboxes, senders, srs_forward, srs_reverse, transports, relay_domains,"
                " relay_recipients, relayhosts");
        }
    }
    if (cfg.get_duration("lookupd_refresh_interval") >= cfg.get_duration("lookupd_max_staleness")) {
        problems.push_back("lookupd_refresh_interval must be smaller than lookupd_max_staleness");
    }
    if (auto srs = srs::settings_problem(cfg); !srs.empty()) {
        problems.push_back(srs);
    }
    return problems;
}

}  // namespace

const config::daemon_params lookupd = {.prefix = "lookupd_",
                                       // one tcp connection per Postfix process and map
                                       .default_max_clients = 1000,
                                       .declare = declare,
                                       .listeners = listeners,
                                       .validate = validate};

}  // namespace vhostmail::params
