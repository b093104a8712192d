// SPDX-License-Identifier: Apache-2.0
// statement.hh - prepared statements: parameters, rows fetched as text, results.
// Data access goes through prepared statements only (STYLE lesson 8): user data is always a bound
// parameter, never spliced into SQL text. Every column reads as text of any length (binary
// safe; numbers in their decimal form, temporal values as 'YYYY-MM-DD hh:mm:ss'); SQL NULL is
// nullopt. Callers convert with the row helpers (row_view's, for a streamed result, read
// integer columns without their text).
// Thread safety: value types are plain data; a statement belongs to one connection and is used
// by one thread at a time (the one holding the connection's lease).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lib/db/errors.hh"

struct st_mysql;       // MYSQL from <mysql.h>; only lib/db/*.cc include that header
struct st_mysql_stmt;  // MYSQL_STMT

namespace vhostmail::db {

// One column of a fetched row; nullopt is SQL NULL.
using value = std::optional<std::string>;

// A bound parameter. nullptr is SQL NULL; strings are sent as they are (binary safe) in the
// connection character set. An `int` argument selects int64_t; pass bools as int64_t{b}.
using param = std::variant<std::nullptr_t, int64_t, uint64_t, double, std::string>;

struct row {
    std::vector<value> columns;

    // The column; throws std::out_of_range for a bad index (a programming error).
    const value& at(size_t i) const { return columns.at(i); }

    bool is_null(size_t i) const { return !at(i).has_value(); }

    // The text, or `dflt` for NULL.
    std::string str(size_t i, std::string_view dflt = "") const;
    // Whole decimal numbers; NULL or text that is not entirely a number in range gives `dflt`.
    int64_t i64(size_t i, int64_t dflt = 0) const;
    uint64_t u64(size_t i, uint64_t dflt = 0) const;
    std::optional<int64_t> opt_i64(size_t i) const;   // nullopt for NULL or not a number
    std::optional<uint64_t> opt_u64(size_t i) const;  // nullopt for NULL or not a number
    // SQL truth: NULL, "" and numeric zero ("0", "0.0") are false, anything else true.
    bool boolean(size_t i) const;
};

// One row of a streamed result (connection::query_each), valid only while the sink runs: views
// of the fetch buffers, which the next row refills (copy() keeps one). Integer columns are read
// as the numbers they arrive as; every accessor answers as row's does for the same text.
class row_view {
public:
    size_t size() const { return columns_.size(); }

    // The text, nullopt for NULL; throws std::out_of_range for a bad index.
    std::optional<std::string_view> at(size_t i) const;

    bool is_null(size_t i) const { return !columns_.at(i).present; }

    std::string str(size_t i, std::string_view dflt = "") const;
    int64_t i64(size_t i, int64_t dflt = 0) const;
    uint64_t u64(size_t i, uint64_t dflt = 0) const;
    std::optional<int64_t> opt_i64(size_t i) const;
    std::optional<uint64_t> opt_u64(size_t i) const;
    bool boolean(size_t i) const;

    row copy() const;

private:
    friend class statement;

    struct column {
        bool present = false;
        char integer_kind = 0;    // 0: text; 's' or 'u': the number is `integer`
        int64_t integer = 0;      // an unsigned value is stored as its bit pattern
        std::string_view text;    // a text column's
        mutable char digits[24];  // an integer's text, written on first use
        mutable uint8_t digits_size = 0;
    };

    std::vector<column> columns_;
};

// Receives the rows of a streamed query, one at a time.
using row_sink = std::function<void(const row_view&)>;

struct result {
    std::vector<row> rows;
    uint64_t affected_rows = 0;  // rows changed (INSERT, UPDATE, ...); for a SELECT: rows.size()
    uint64_t insert_id = 0;      // AUTO_INCREMENT value of an INSERT, else 0
};

// A server-side prepared statement on one MYSQL handle. Used by connection::query, which caches
// statements per connection; not meant to be used directly. Must be destroyed before its MYSQL.
class statement {
public:
    // Prepares `sql`. Errors are the server's (syntax: permanent) or connection errors.
    static outcome<std::unique_ptr<statement>> prepare(st_mysql* mysql, std::string_view sql);

    ~statement();
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;

    // Binds `params` (their count must equal the placeholders: else a permanent local_error::
    // usage error), executes, and fetches all rows. The error is the server's or the client's.
    outcome<result> execute(const std::vector<param>& params);

    // As execute, but hands each row to `each` as it arrives instead of buffering the result
    // (a row_view of the fetch buffers, refilled: copy what you keep). Returns the number of rows.
    // The server sends while `each` works, so a slow `each` holds the connection; an exception from
    // it leaves the result half read (connection::query_each then breaks the connection).
    outcome<uint64_t> execute_each(const std::vector<param>& params, const row_sink& each);

    unsigned param_count() const;

private:
    struct closer {
        void operator()(st_mysql_stmt* s) const;
    };

    explicit statement(st_mysql_stmt* s) : stmt_(s) {}

    db::error last_error() const;
    outcome<void> run(const std::vector<param>& params);  // binds and executes
    outcome<uint64_t> fetch(const row_sink& each);        // the rows of the current result
    outcome<void> drain();                                // skips further result sets

    std::unique_ptr<st_mysql_stmt, closer> stmt_;
};

}  // namespace vhostmail::db
