// SPDX-License-Identifier: Apache-2.0
// listener.hh - listening sockets: TCP (IPv4/IPv6) and unix-domain, bound by us or inherited
// from systemd socket activation (LISTEN_FDS), matched by the address they are bound to.
// Endpoint syntax: "unix:/path" or "/path"; "inet:host:port", "host:port", "[v6addr]:port".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/unique_fd.hh"

namespace vhostmail::net {

struct endpoint {
    enum class kind { unix_socket, tcp };
    kind type = kind::tcp;
    std::string path;  // unix
    std::string host;  // tcp: numeric address or name resolved at bind time
    std::string port;
    std::string text;  // as configured, for logs
};

// Parses an endpoint; nullopt with a message in `error` when malformed.
std::optional<endpoint> parse_endpoint(std::string_view text, std::string& error);

struct unix_socket_options {
    unsigned mode = 0660;
    std::string group;  // "" keeps the creator's group
};

struct listener {
    endpoint where;
    unique_fd fd;
    std::string tag;  // what the daemon serves here (protocol, map name)
};

struct bind_result {
    std::optional<listener> value;
    std::string error;
};

// Takes an inherited systemd socket bound to `where` if there is one, else binds a new one.
// A unix socket file left by a dead process is replaced; one that still answers is an error.
bind_result open_listener(const endpoint& where, const unix_socket_options& unix_options,
                          std::string tag);

// Sockets passed by systemd (LISTEN_PID/LISTEN_FDS) not claimed by open_listener; closed by
// close_unclaimed_inherited() once all listeners are open.
void close_unclaimed_inherited();

}  // namespace vhostmail::net
