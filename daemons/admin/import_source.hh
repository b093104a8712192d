// SPDX-License-Identifier: Apache-2.0
// import_source.hh - the tables of another mail database, read either from a database on the
// same server (--from-db NAME: SELECTs through the tool's own connection, prepared, with the
// identifiers checked) or from a SQL dump file (--from-dump FILE: parsed, never executed).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "lib/db/connection.hh"
#include "lib/vhost/admin_store.hh"

#include "daemons/admin/sql_dump.hh"

namespace vhostmail::admin {

using source_row = std::map<std::string, std::optional<std::string>>;

struct source_table {
    bool present = false;
    std::vector<source_row> rows;  // only the columns asked for (absent ones: nullopt)
};

class import_source {
public:
    // From a database on the same server; the name must be [A-Za-z0-9_$]+.
    static std::optional<import_source> database(db::connection& conn, const std::string& name,
                                                 std::string& error);
    // From a dump file.
    static std::optional<import_source> dump(const std::string& file, std::string& error);

    vhost::admin_result<source_table> read(const std::string& table,
                                           const std::vector<std::string>& columns);

private:
    db::connection* conn_ = nullptr;
    std::string database_;
    dump_contents dump_;
};

// The text of a column ("" for NULL or absent).
std::string text_of(const source_row& row, const std::string& column);

}  // namespace vhostmail::admin
