// SPDX-License-Identifier: Apache-2.0
#include "lib/config/server_params.hh"

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
}

}  // namespace

void declare_daemon_params(param_table& table, const daemon_params& daemon) {
    add_server_params(table, std::string(daemon.prefix), daemon.default_max_clients);
    daemon.declare(table);
}

}  // namespace vhostmail::config
