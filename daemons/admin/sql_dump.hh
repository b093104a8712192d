// SPDX-License-Identifier: Apache-2.0
// sql_dump.hh - reads the tables of a mysqldump/mariadb-dump file without executing it. Pure.
// Understood: CREATE TABLE (for the column order), INSERT [IGNORE] INTO / REPLACE INTO with or
// without a column list and with many rows; values are 'strings' ("strings") with backslash
// and doubled-quote escapes, optional _charset introducers, NULL, numbers and other bare words
// (kept as text). Comments (--, #, /* */ including /*!NNNNN ... */) and every other statement
// are skipped. Nothing in the file is ever run, so a dump cannot touch the database.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::admin {

struct dump_table {
    std::vector<std::string> columns;                           // from CREATE TABLE
    std::vector<std::vector<std::optional<std::string>>> rows;  // nullopt: NULL
};

struct dump_contents {
    std::map<std::string, dump_table> tables;  // by name as written
    std::string error;                         // "" when the whole file was understood
};

dump_contents parse_sql_dump(std::string_view text);

}  // namespace vhostmail::admin
