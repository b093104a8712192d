// SPDX-License-Identifier: Apache-2.0
#include "lib/config/server_params.hh"

#include <arpa/inet.h>

#include "lib/config/common_params.hh"

namespace vhostmail::config {

namespace {

void add_server_params(param_table& table, const std::string& prefix, int64_t default_max_clients) {
    table.add({.name = prefix + "max_clients",
               .type = param_type::integer,
               .default_value = std::to_string(default_max_clients),
               .doc = "clients served at once; more wait in the listen backlog",
               .min = 1,
               .max = 100000});
    table.add({.name = prefix + "socket_mode",
               .type = param_type::mode,
               .default_value = "0660",
               .doc = "permissions of unix-domain listening sockets"});
    table.add({.name = prefix + "socket_group",
               .type = param_type::string,
               .default_value = "postfix",
               .doc = "group of unix-domain listening sockets (\"\" keeps the daemon's)"});
    // Each daemon may run as its own account (lmtpd must own the mail store, lookupd need not).
    table.add({.name = prefix + "user",
               .type = param_type::string,
               .default_value = "$" + std::string(common::mail_owner_user),
               .doc = "the unprivileged user this daemon runs as after binding its sockets"});
    table.add({.name = prefix + "drain_time",
               .type = param_type::duration,
               .default_value = "10s",
               .doc = "how long requests in progress may finish after SIGTERM",
               .min = 0,
               .max = 3600'000});
    table.add({.name = prefix + "metrics_listen",
               .type = param_type::string,
               .default_value = "",
               .doc = "where Prometheus metrics are served (GET /metrics): a unix socket or a"
                      " loopback TCP address; \"\" serves none"});
}

}  // namespace

void declare_daemon_params(param_table& table, const daemon_params& daemon) {
    add_server_params(table, std::string(daemon.prefix), daemon.default_max_clients);
    daemon.declare(table);
}

std::vector<std::string> validate_daemon_params(const config& cfg, const daemon_params& daemon) {
    std::vector<std::string> problems;
    std::string metrics = std::string(daemon.prefix) + "metrics_listen";
    if (auto why = check_local_endpoint(cfg.get_string(metrics)); !why.empty()) {
        problems.push_back(metrics + ": " + why);
    }
    auto own = daemon.validate(cfg);
    problems.insert(problems.end(), own.begin(), own.end());
    return problems;
}

std::string check_local_endpoint(std::string_view endpoint) {
    if (endpoint.empty() || endpoint.starts_with("unix:") || endpoint.starts_with("/")) {
        return "";
    }
    std::string_view rest = endpoint.starts_with("inet:") ? endpoint.substr(5) : endpoint;
    std::string host;
    if (rest.starts_with("[")) {
        auto close = rest.find(']');
        host = std::string(rest.substr(1, close == std::string_view::npos ? 0 : close - 1));
    } else {
        auto colon = rest.rfind(':');
        host = std::string(rest.substr(0, colon == std::string_view::npos ? 0 : colon));
    }
    in_addr v4{};
    in6_addr v6{};
    bool loopback =
        host == "localhost" ||
        (inet_pton(AF_INET, host.c_str(), &v4) == 1 && (ntohl(v4.s_addr) >> 24) == 127) ||
        (inet_pton(AF_INET6, host.c_str(), &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6));
    if (!loopback) {
        return "\"" + std::string(endpoint) +
               "\" is not a unix socket or a loopback address (127.0.0.1:PORT, [::1]:PORT)";
    }
    return "";
}

}  // namespace vhostmail::config
