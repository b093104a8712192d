// SPDX-License-Identifier: Apache-2.0
// settings.hh - database connection settings (Postfix dict_mysql names) and the host list syntax.
// Host syntax, tried in list order by the pool:
//   "host"             TCP, default port 3306
//   "host:port"        TCP; "[v6addr]:port" and "[v6addr]" for IPv6 literals
//   "inet:host[:port]" TCP, Postfix dict_mysql spelling
//   "unix:/path"       Unix-domain socket
//   "/path"            Unix-domain socket
// An empty host list means one host taken from the option file (or the client library default).
// Thread safety: plain values; parse_host is pure and reentrant.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::db {

struct settings {
    std::vector<std::string> hosts;  // see the syntax above
    std::string user;                // empty: from option_file (or the client default)
    std::string password;            // empty: from option_file (or none)
    std::string database;            // empty: from option_file (or none)
    std::string option_file;         // MariaDB option file with credentials; empty: none read
    std::string option_group = "client";
    std::string charset = "utf8mb4";
    // Connector/C takes whole seconds: each timeout is rounded up, minimum 1 s, maximum 1 day.
    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds read_timeout{5000};
    std::chrono::milliseconds write_timeout{5000};
    std::chrono::milliseconds retry_interval{10000};  // a failed host is tried last this long
    std::chrono::milliseconds idle_interval{60000};   // idle longer than this: ping before reuse
    std::chrono::milliseconds lease_timeout{2000};    // wait for a free pooled connection
    unsigned pool_size = 4;                           // connections per pool, at least 1
    // TLS to the server (Postfix dict_mysql's tls_* settings). require: refuse a connection
    // that is not encrypted; verify_cert: check the server's certificate against ca_file /
    // ca_path and its name against the host connected to. Any file set also turns TLS on.
    bool tls_require = false;
    bool tls_verify_cert = true;
    std::string tls_ca_file, tls_ca_path, tls_cert_file, tls_key_file;
};

// One parsed entry of settings::hosts. Exactly one of (socket) or (host, port) is used.
struct host_spec {
    std::string host;    // TCP host name or address; empty with empty socket: client default
    unsigned port = 0;   // 0: the client default (3306)
    std::string socket;  // Unix socket path; non-empty selects the socket
    std::string text;    // the entry as configured, for error messages
};

// Parses one host entry. Returns nullopt for syntax errors (empty entry, empty or non-numeric
// or out-of-range port, "unix:" without a path, unbalanced brackets).
std::optional<host_spec> parse_host(std::string_view text);

// Seconds for Connector/C from a millisecond timeout: rounded up, at least 1, at most 86400.
unsigned timeout_seconds(std::chrono::milliseconds ms);

}  // namespace vhostmail::db
