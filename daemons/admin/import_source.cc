// SPDX-License-Identifier: Apache-2.0
#include "daemons/admin/import_source.hh"

#include <fstream>
#include <iterator>

#include "lib/core/strings.hh"

namespace vhostmail::admin {

namespace {

bool plain_identifier(const std::string& s) {
    return !s.empty() && s.size() <= 64 &&
           s.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$") ==
               std::string::npos;
}

constexpr size_t max_dump_size = 256 << 20;

}  // namespace

std::string text_of(const source_row& row, const std::string& column) {
    auto it = row.find(column);
    return it == row.end() || !it->second ? std::string() : *it->second;
}

std::optional<import_source> import_source::database(db::connection& conn, const std::string& name,
                                                     std::string& error) {
    if (!plain_identifier(name)) {
        error = "invalid database name \"" + printable(name) + "\" (letters, digits, _ and $)";
        return std::nullopt;
    }
    import_source s;
    s.conn_ = &conn;
    s.database_ = name;
    return s;
}

std::optional<import_source> import_source::dump(const std::string& file, std::string& error) {
    std::ifstream in(file, std::ios::binary);
    if (!in) {
        error = "cannot read " + file;
        return std::nullopt;
    }
    std::string text;
    text.assign(std::istreambuf_iterator<char>(in), {});
    if (text.size() > max_dump_size) {
        error = file + " is larger than 256 MiB";
        return std::nullopt;
    }
    import_source s;
    s.dump_ = parse_sql_dump(text);
    if (!s.dump_.error.empty()) {
        error = file + ": " + s.dump_.error;
        return std::nullopt;
    }
    return s;
}

vhost::admin_result<source_table> import_source::read(const std::string& table,
                                                      const std::vector<std::string>& columns) {
    source_table out;
    if (conn_ == nullptr) {
        auto it = dump_.tables.find(table);
        if (it == dump_.tables.end()) {
            return out;
        }
        out.present = true;
        for (const auto& values : it->second.rows) {
            source_row row;
            for (size_t i = 0; i < it->second.columns.size(); ++i) {
                row[it->second.columns[i]] = values[i];
            }
            out.rows.push_back(std::move(row));
        }
        return out;
    }
    // Identifiers cannot be bound: the database name was checked, table and column names are
    // the tool's own constants, and only columns the server lists for the table are named.
    auto have = conn_->query(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND"
        " table_name = ?",
        {db::param{database_}, db::param{table}});
    if (!have) {
        return vhost::admin_failure{"database error: " + have.error().message};
    }
    std::vector<std::string> wanted;
    for (const auto& c : columns) {
        for (const auto& row : have->rows) {
            if (ascii_lower(row.str(0)) == ascii_lower(c)) {
                wanted.push_back(c);
                break;
            }
        }
    }
    if (have->rows.empty()) {
        return out;
    }
    out.present = true;
    if (wanted.empty()) {
        return out;
    }
    std::string sql = "SELECT ";
    for (size_t i = 0; i < wanted.size(); ++i) {
        sql += (i ? ", `" : "`") + wanted[i] + "`";
    }
    sql += " FROM `" + database_ + "`.`" + table + "`";
    auto r = conn_->query(sql);
    if (!r) {
        return vhost::admin_failure{"cannot read " + database_ + "." + table + ": " +
                                    r.error().message};
    }
    for (const auto& values : r->rows) {
        source_row row;
        for (size_t i = 0; i < wanted.size(); ++i) {
            row[wanted[i]] = values.at(i);
        }
        out.rows.push_back(std::move(row));
    }
    return out;
}

}  // namespace vhostmail::admin
