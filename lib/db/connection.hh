// SPDX-License-Identifier: Apache-2.0
// connection.hh - one MariaDB connection (RAII over MYSQL*) with a per-connection cache of
// prepared statements.
// No auto-reconnect (MYSQL_OPT_RECONNECT stays off): a silent reconnect loses session state and
// every prepared statement. A connection that hit a connection-level error (breaks_connection())
// is marked broken; from then on every call fails at once with a temporary error, and the pool
// discards it instead of reusing it.
// Thread safety: a connection is used by one thread at a time (whoever holds its lease); it may
// move between threads. The MariaDB client library is initialized once (std::call_once) and
// mysql_thread_init()/mysql_thread_end() are called automatically, once per thread that uses
// the library (a thread_local guard), so callers need no thread setup.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/db/errors.hh"
#include "lib/db/settings.hh"
#include "lib/db/statement.hh"

namespace vhostmail::db {

class connection {
public:
    using clock = std::chrono::steady_clock;

    // Connects to `host` with the settings' credentials, option file, charset and timeouts.
    // Errors: connect failures (2002/2003/2005: temporary), authentication (1045: permanent).
    static outcome<std::unique_ptr<connection>> open(const settings& s, const host_spec& host);

    ~connection();
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;

    // Runs one data statement with `params` bound to its '?' placeholders. The statement is
    // prepared on first use and cached by its SQL text. On a connection-level error the
    // connection becomes broken (see above); other errors leave it usable.
    outcome<result> query(std::string_view sql, const std::vector<param>& params = {});

    // As query, but streamed: each row goes to `each` as it arrives, none is buffered (for
    // results too large to hold twice). Returns the row count. `each` must not use this
    // connection (the result is still arriving on it). An exception from `each` marks the
    // connection broken (the rest of the result is unread) and propagates.
    outcome<uint64_t> query_each(std::string_view sql, const std::vector<param>& params,
                                 const row_sink& each);

    // A round trip to the server. Failure marks the connection broken.
    outcome<void> ping();

    // Runs a trusted SQL script (migrations) statement by statement with the text protocol,
    // honouring DELIMITER (split_sql_script). Never pass user data through this. Stops at the
    // first failing statement; the error message names the statement's index and start.
    outcome<void> execute_script(std::string_view sql);

    // START TRANSACTION [WITH CONSISTENT SNAPSHOT] / COMMIT / ROLLBACK. A deadlock (1213) or
    // lock wait timeout (1205) is temporary and leaves the connection usable. A consistent
    // snapshot is taken at REPEATABLE READ whatever the session's default isolation level.
    outcome<void> begin(bool consistent_snapshot = false);
    outcome<void> commit();
    outcome<void> rollback();
    // True while the server reports an open transaction on this session.
    bool in_transaction() const;

    bool broken() const { return broken_; }

    // The error code that broke the connection (0 when mark_broken() was called without one).
    unsigned broken_code() const { return broken_code_; }

    // Forces the connection to be discarded when its lease ends.
    void mark_broken(unsigned code = 0);

    const host_spec& host() const { return host_; }

    clock::time_point opened_at() const { return opened_at_; }

    // When a call last completed without error (or the connection was opened).
    clock::time_point last_used() const { return last_used_; }

    // The server's id for this session (CONNECTION_ID()), for logs and tests.
    unsigned long server_thread_id() const;

    size_t cached_statements() const { return cache_.size(); }

private:
    struct closer {
        void operator()(st_mysql* m) const;
    };

    struct text_hash {
        using is_transparent = void;

        size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };

    using statement_cache =
        std::unordered_map<std::string, std::unique_ptr<statement>, text_hash, std::equal_to<>>;

    connection(st_mysql* m, host_spec host);
    db::error check(db::error e);                      // marks broken when e breaks the connection
    db::error last_error() const;                      // from mysql_errno() & co.
    db::error broken_error() const;                    // the error for calls on a broken connection
    outcome<void> simple_query(std::string_view sql);  // text protocol, results discarded
    outcome<statement*> prepared(std::string_view sql);  // from the cache, or prepared now
    // Runs `run(statement*)` on the prepared `sql`, preparing it again once if the server asks.
    template <typename Run>
    auto with_statement(std::string_view sql, Run run) -> decltype(run(nullptr));

    std::unique_ptr<st_mysql, closer> mysql_;
    statement_cache cache_;  // declared after mysql_: destroyed before the handle is closed
    host_spec host_;
    clock::time_point opened_at_;
    clock::time_point last_used_;
    bool broken_ = false;
    unsigned broken_code_ = 0;
};

}  // namespace vhostmail::db
