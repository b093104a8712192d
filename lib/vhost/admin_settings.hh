// SPDX-License-Identifier: Apache-2.0
// admin_settings.hh - internal to admin_store: the settings tables (column name = setting name,
// fixed identifiers, never user input) and turning "name=value" into bound parameters.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lib/db/statement.hh"
#include "lib/vhost/admin_store.hh"

namespace vhostmail::vhost {

enum class kind {
    boolean,
    optional_boolean,
    text,
    multiline,
    count,
    size,
    logins,
    fallback,
    path,
    datetime,
    seconds,
    role,       // primary | backup
    transport,  // schema.hh valid_transport, or none
    nexthop     // schema.hh valid_nexthop, or none
};

struct column {
    const char* name;  // setting name = column name (a fixed identifier, never user input)
    kind type;
    const char* help;
};

extern const std::vector<column> domain_columns;
extern const std::vector<column> address_columns;
extern const std::vector<column> vacation_columns;

// Checks `s` against `cols`; appends the column names and their bound values. Returns the
// message for the first bad setting.
std::optional<std::string> bind_settings(const std::vector<column>& cols, const settings& s,
                                         std::vector<std::string>& names,
                                         std::vector<db::param>& values);

// A database error as a one-line failure (duplicates and trigger messages in words).
admin_failure db_failure(const db::error& e);

// "a = ?, b = ?" for an UPDATE over `names`.
std::string assignments(const std::vector<std::string>& names);

}  // namespace vhostmail::vhost
