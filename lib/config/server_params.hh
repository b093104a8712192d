// SPDX-License-Identifier: Apache-2.0
// server_params.hh - what a daemon with listeners declares besides the common parameters: its
// own parameter table, its listeners and its cross-parameter checks, as one description that
// the daemon (lib/daemon) and "vhostmail check" both read. Each daemon's description is a small
// library under lib/params. Thread safety: reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.hh"
#include "lib/config/params.hh"

namespace vhostmail::config {

// What a daemon asks to listen on, computed from its configuration.
struct listen_request {
    std::string endpoint;  // net::parse_endpoint syntax
    std::string tag;       // handed back with each connection (e.g. protocol and map)
};

struct daemon_params {
    std::string_view prefix;      // own parameter prefix, e.g. "lookupd_"
    int64_t default_max_clients;  // Postfix's default_process_limit is 100
    void (*declare)(param_table& table);
    std::vector<listen_request> (*listeners)(const config& cfg);
    // Checks across parameters that the typed table cannot express; messages name the parameter.
    std::vector<std::string> (*validate)(const config& cfg);
};

// Declares the parameters every daemon with listeners has (<prefix>max_clients,
// <prefix>socket_mode, <prefix>socket_group, <prefix>user (default $mail_owner_user),
// <prefix>drain_time, <prefix>metrics_listen), then the daemon's own.
void declare_daemon_params(param_table& table, const daemon_params& daemon);

// The checks of those common parameters, then the daemon's own `validate`.
std::vector<std::string> validate_daemon_params(const config& cfg, const daemon_params& daemon);

// "" when `endpoint` (net::parse_endpoint syntax) is a unix socket or a TCP address on the
// loopback interface (127.0.0.0/8, ::1, localhost), else why not: a metrics listener tells
// what the host's mail does and is not for the network (a scraper elsewhere goes through a
// proxy or a tunnel of the admin's choosing).
std::string check_local_endpoint(std::string_view endpoint);

}  // namespace vhostmail::config
