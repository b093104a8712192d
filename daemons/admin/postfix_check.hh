// SPDX-License-Identifier: Apache-2.0
// postfix_check.hh - "vhostmail check --postfix": common mistakes in wiring Postfix to the
// vhostmail daemons, judged from Postfix's effective settings (postconf -x NAME..., -M, -P -x)
// and the daemons' own listener parameters. The judging is pure; only read_postfix runs
// postconf.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace vhostmail::admin {

struct finding {
    bool error = false;  // false: a warning
    std::string message;
};

struct postfix_service {
    std::string name, type, command;               // master.cf fields 1, 2 and 8
    std::map<std::string, std::string> overrides;  // -o name=value, expanded
};

struct postfix_settings {
    std::map<std::string, std::string> main;  // effective values, $names expanded
    std::vector<postfix_service> services;
};

// Where the daemons listen, as their configuration says (lookupd_tcp_listen by map name,
// lookupd_socketmap_listen, authd_dovecot_listen, lmtpd_listen, milter_listen when the milter is
// installed): "unix:/path", "inet:host:port", "host:port" or "/path"; and what Postfix must be
// wired for besides (SRS).
struct daemon_endpoints {
    std::map<std::string, std::string> lookupd_tcp;
    std::vector<std::string> lookupd_socketmap;
    std::vector<std::string> authd;
    std::vector<std::string> lmtpd;
    std::vector<std::string> milter;  // empty: vhostmail-milter is not installed
    std::string srs_domain;           // the daemons' srs_domain; empty: SRS is off
};

// The main.cf parameters the judgement reads.
const std::vector<std::string>& postfix_parameters();

// Runs postconf (with -c dir when dir is not empty) with `args`: its output, or nullopt with
// `error` set when it fails.
std::optional<std::string> postconf_output(const std::string& postconf, const std::string& dir,
                                           std::vector<std::string> args, std::string& error);

// The "name = value" lines of postconf's output (-n, -x NAME..., -P -x).
std::vector<std::pair<std::string, std::string>> postconf_assignments(const std::string& text);

// Runs postconf (with -c dir when dir is not empty); nullopt with `error` set when it fails.
std::optional<postfix_settings> read_postfix(const std::string& postconf, const std::string& dir,
                                             std::string& error);

// What of per-domain routing (docs/routing.md) the database uses, so Postfix must be wired for.
struct routing_in_use {
    std::set<std::string> backup_domains;  // role=backup
    bool transports = false;               // some domain has a transport
    bool relayhosts = false;               // some domain has a relayhost
};

// Pure: the findings, one line each. hosted: the database's domains and domain aliases.
std::vector<finding> judge_postfix(const postfix_settings& pf, const daemon_endpoints& ours,
                                   const std::set<std::string>& hosted,
                                   const routing_in_use& routing = {});

}  // namespace vhostmail::admin
