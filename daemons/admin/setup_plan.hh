// SPDX-License-Identifier: Apache-2.0
// setup_plan.hh - what "vhostmail setup" decides, as pure functions: which Postfix settings it
// changes, which it must not touch (an admin's own), and the database accounts with their
// grants. cmd_setup.cc does the I/O. Thread safety: reentrant.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vhostmail::admin {

using assignments = std::vector<std::pair<std::string, std::string>>;

// "name = value" lines in main.cf syntax (snippets, setup's record of what it applied);
// errors name the file and line.
std::optional<assignments> main_cf_assignments(std::string_view text, std::string_view file,
                                               std::string& error);

// Two main.cf values mean the same (blanks and commas between words do not count).
bool same_postfix_value(std::string_view a, std::string_view b);

struct postfix_change {
    std::string name, from, to;  // from "": not set in main.cf
};

struct main_cf_plan {
    std::vector<postfix_change> changes;
    std::vector<std::string> conflicts;  // one line each: what the admin set, what setup wants
};

// current: main.cf's own settings (postconf -n); wanted: the snippets' settings; applied: what
// an earlier setup wrote. A parameter is changed when main.cf does not set it or holds what
// setup wrote last time; any other value is the admin's and a conflict unless `force`.
main_cf_plan plan_main_cf(const std::map<std::string, std::string>& current,
                          const assignments& wanted,
                          const std::map<std::string, std::string>& applied, bool force);

// One master.cf service as a snippet gives it: "name type private unpriv chroot wakeup maxproc
// command" and its -o overrides ("-o name=value" or "-o { name = value }").
struct master_service {
    std::string name, type;
    std::string line;  // the eight fields, single-spaced
    assignments overrides;
};

std::optional<master_service> parse_master_service(std::string_view text, std::string& error);

// Whether master.cf holds `service` already: `postconf_line` is the entry as postconf -M prints
// it, `options` its -o options as postconf -P lists them (name -> value).
bool same_master_service(std::string_view postconf_line,
                         const std::map<std::string, std::string>& options,
                         const master_service& service);

// The database accounts "vhostmail setup" creates, one per daemon, named after the daemon's
// system user so that a local MariaDB authenticates them by the socket's peer (unix_socket),
// with the least privileges the daemon's queries need.
struct db_grant {
    std::vector<std::string> privileges;  // "SELECT", "UPDATE", ...
    std::string table;
    std::string column;  // "": the whole table
};

struct db_account {
    std::string daemon;  // "lookupd", ...: installed when its program vhostmail-<daemon> is
    std::string user;    // system user = MariaDB user
    std::vector<db_grant> grants;
    bool socket_activated = true;  // false: no .socket unit (libmilter binds its own socket)
    std::string start_options{};   // its unit's ExecStart options (kept by setup's drop-in)
};

// "GRANT SELECT, INSERT ON `db`.`table` TO 'user'@'host'" (UPDATE (`column`) for a column
// grant). Names are setup's own constants, a checked database name and a checked host.
std::string grant_statement(const db_grant& g, const std::string& database, const std::string& user,
                            const std::string& host = "localhost");

// Whether `host` may be written into an account name: a host name, an address, or a MariaDB
// host pattern (letters, digits, . - _ : % /).
bool valid_account_host(const std::string& host);

const std::vector<db_account>& db_accounts();

}  // namespace vhostmail::admin
