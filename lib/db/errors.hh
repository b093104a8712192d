// SPDX-License-Identifier: Apache-2.0
// errors.hh - database errors and their classification, and outcome<T> (a value or an error).
// No logging here: errors carry their text and the caller logs (lib/db never logs).
//
// Towards Postfix EVERY database error is a temporary failure (STYLE lesson 5): "not found" is
// only ever the answer of a query that succeeded. The `temporary` flag only decides whether to
// retry / fail over and how loudly to log: temporary = the same request may succeed later or on
// another host without anyone changing configuration, schema or data.
//
// Temporary (is_temporary), checked against mysqld_error.h and errmsg.h of MariaDB 10.11 /
// Connector/C 3.3. [B] = also breaks the connection (breaks_connection: the session is unusable
// or the node is not serving): the connection is discarded, and the pool marks its host down.
//   1021 ER_DISK_FULL, 1037 ER_OUTOFMEMORY, 1038 ER_OUT_OF_SORTMEMORY, 1041 ER_OUT_OF_RESOURCES
//   1040 ER_CON_COUNT_ERROR (too many connections), 1203 ER_TOO_MANY_USER_CONNECTIONS,
//   1226 ER_USER_LIMIT_REACHED (max_queries_per_hour &c.)
//   1047 ER_UNKNOWN_COM_ERROR: Galera's "WSREP has not yet prepared node for application use" [B]
//   1053 ER_SERVER_SHUTDOWN, 1077 ER_NORMAL_SHUTDOWN                                         [B]
//   1152 ER_ABORTING_CONNECTION, 1184 ER_NEW_ABORTING_CONNECTION                             [B]
//   1158-1161 ER_NET_READ_ERROR, _READ_INTERRUPTED, _ERROR_ON_WRITE, _WRITE_INTERRUPTED      [B]
//   1180 ER_ERROR_DURING_COMMIT: Galera's "Not connected to Primary Component"              [B]
//   1205 ER_LOCK_WAIT_TIMEOUT, 1213 ER_LOCK_DEADLOCK (also Galera certification conflicts)
//   1317 ER_QUERY_INTERRUPTED (KILL QUERY, shutdown), 1969 ER_STATEMENT_TIMEOUT
//   1615 ER_NEED_REPREPARE (connection::query re-prepares once by itself)
//   1637 ER_TOO_MANY_CONCURRENT_TRXS
//   1927 ER_CONNECTION_KILLED                                                                [B]
//   2001 CR_SOCKET_CREATE_ERROR, 2004 CR_IPSOCK_ERROR (out of descriptors), 2008 CR_OUT_OF_MEMORY
//   2002 CR_CONNECTION_ERROR (socket refused/missing), 2003 CR_CONN_HOST_ERROR (TCP refused)
//   2005 CR_UNKNOWN_HOST (DNS may be down), 2012 CR_SERVER_HANDSHAKE_ERR (server starting)
//   2006 CR_SERVER_GONE_ERROR, 2013 CR_SERVER_LOST (also every read/write timeout)           [B]
//   2027 CR_MALFORMED_PACKET, 2055 CR_SERVER_LOST_EXTENDED                                   [B]
//   5013 CR_ERR_NET_READ, 5014 CR_ERR_NET_WRITE                                              [B]
//   local_error::lease_timeout, local_error::lock_timeout; local_error::connection_broken    [B]
// Permanent, deliberately: 1045/1044 access denied, 1049 unknown database, 1129 host blocked
// (needs FLUSH HOSTS), 1290/1836 read-only (a configuration problem, not a transient one), 2026
// CR_SSL_CONNECTION_ERROR (almost always certificate/TLS configuration), 2014 commands out of
// sync (a bug; it does break the connection: B), 4031 (in MariaDB ER_REFERENCED_TRG_DOES_NOT_
// EXIST; only MySQL 8 uses 4031 for an idle disconnect, which our ping before reuse catches),
// and all syntax, constraint and schema errors.
// Thread safety: all functions are pure and reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace vhostmail::db {

// Codes of errors raised by lib/db itself, outside the server (1000-4999) and Connector/C
// (2000-2999, 5000-5999) ranges.
namespace local_error {
inline constexpr unsigned lease_timeout = 9001;      // all pooled connections busy (temporary)
inline constexpr unsigned connection_broken = 9002;  // used after an earlier fatal error (temp.)
inline constexpr unsigned usage = 9003;              // parameter count, bad argument (permanent)
inline constexpr unsigned migration = 9004;          // migration files or schema_version (perm.)
inline constexpr unsigned lock_timeout = 9005;       // GET_LOCK timed out (temporary)
}  // namespace local_error

struct error {
    unsigned code = 0;     // mysql_errno(), mysql_stmt_errno() or a local_error code
    std::string sqlstate;  // five characters from the server or client; empty for local errors
    std::string message;   // human-readable, no secrets (never contains passwords)
    bool temporary = false;
};

// True when `mysql_errno` (or a local_error code) is in the temporary table above.
bool is_temporary(unsigned mysql_errno);

// True when after `mysql_errno` the connection must not be used again (marked "B" above).
bool breaks_connection(unsigned mysql_errno);

// True for the server refusing the login itself: 1045 access denied, 1044 no access to the
// database, 1049 unknown database, 1698 access denied without a password. A configuration
// error (db_user, db_password, db_option_file, db_name, the grants), not an outage.
bool is_login_refusal(unsigned mysql_errno);

// An error with is_temporary(code) filled in. Every error lib/db returns is made here, and is
// told to the error observer when one is set (a daemon's metrics count them by class).
error make_error(unsigned code, std::string sqlstate, std::string message);

// Set once at start, before any thread uses the database (a daemon's metrics endpoint).
using error_observer = void (*)(const error& e, void* context);
void set_error_observer(error_observer observer, void* context);

// What kind of trouble an error is, for counting: "unreachable" (no connection could be
// made), "lost" (a connection broke or the node stopped serving), "timeout" (lock wait,
// statement time, pool or lock lease), "conflict" (1213: deadlock or Galera certification),
// "resources" (full disk, memory, connection limits), "login" (is_login_refusal), "other"
// (schema, syntax, constraints, read-only, TLS).
const char* error_class(unsigned code);
inline constexpr const char* error_classes[] = {"unreachable", "lost",  "timeout", "conflict",
                                                "resources",   "login", "other"};

// "temporary error 2013 (HY000): Lost connection to server during query" - for log lines.
std::string describe(const error& e);

// outcome<T>: either a T or an error (std::expected is C++23). Accessing the wrong side throws
// std::bad_variant_access, a programming error. [[nodiscard]]: a database error must not be
// dropped silently; write (void) where ignoring one is really intended.
template <typename T>
class [[nodiscard]] outcome {
public:
    outcome(T v) : v_(std::in_place_index<0>, std::move(v)) {}

    outcome(db::error e) : v_(std::in_place_index<1>, std::move(e)) {}

    bool ok() const { return v_.index() == 0; }

    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(v_); }

    const T& value() const& { return std::get<0>(v_); }

    T&& value() && { return std::get<0>(std::move(v_)); }

    T& operator*() & { return value(); }

    const T& operator*() const& { return value(); }

    T* operator->() { return &value(); }

    const T* operator->() const { return &value(); }

    const db::error& error() const { return std::get<1>(v_); }

private:
    std::variant<T, db::error> v_;
};

template <>
class [[nodiscard]] outcome<void> {
public:
    outcome() = default;

    outcome(db::error e) : err_(std::move(e)), ok_(false) {}

    bool ok() const { return ok_; }

    explicit operator bool() const { return ok_; }

    const db::error& error() const { return err_; }

private:
    db::error err_;
    bool ok_ = true;
};

}  // namespace vhostmail::db
