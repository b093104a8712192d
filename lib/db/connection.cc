// SPDX-License-Identifier: Apache-2.0
// connection.cc - connecting, the statement cache, scripts and transactions.
#include "lib/db/connection.hh"

#include <errmsg.h>
#include <fcntl.h>
#include <mutex>
#include <pwd.h>
#include <unistd.h>

#include <mysql.h>
#include <mysqld_error.h>

#include "lib/db/migrate.hh"

namespace vhostmail::db {

namespace {

// Beyond this many distinct SQL texts the cache is flushed: our queries are a fixed set, so
// growth means a caller builds SQL dynamically, and server-side statements are not free.
constexpr size_t max_cached_statements = 256;

struct thread_guard {
    thread_guard() { mysql_thread_init(); }

    ~thread_guard() { mysql_thread_end(); }

    thread_guard(const thread_guard&) = delete;
    thread_guard& operator=(const thread_guard&) = delete;
};

// mysql_library_init() is not thread-safe, and mysql_init() would call it implicitly on the
// first connection of whichever threads race there; so it runs exactly once here. Connector/C
// wants mysql_thread_init() in every thread that uses it (a no-op in recent versions, but
// documented), and mysql_thread_end() at thread exit: the thread_local guard does both.
bool library_ready() {
    static std::once_flag once;
    static int status = 0;
    std::call_once(once, [] { status = mysql_library_init(0, nullptr, nullptr); });
    thread_local thread_guard guard;
    return status == 0;
}

const char* or_null(const std::string& s) {
    return s.empty() ? nullptr : s.c_str();
}

std::string statement_head(std::string_view sql) {
    constexpr size_t max = 60;
    std::string head;
    for (char c : sql.substr(0, max)) {
        head += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    }
    if (sql.size() > max) {
        head += "...";
    }
    return head;
}

}  // namespace

namespace {

std::string effective_user_name() {
    struct passwd pw {};
    struct passwd* found = nullptr;
    std::vector<char> buffer(16384);
    if (::getpwuid_r(::geteuid(), &pw, buffer.data(), buffer.size(), &found) != 0 || !found) {
        return {};
    }
    return pw.pw_name;
}

}  // namespace

void connection::closer::operator()(st_mysql* m) const {
    mysql_close(m);
}

connection::connection(st_mysql* m, host_spec host)
    : mysql_(m), host_(std::move(host)), opened_at_(clock::now()), last_used_(opened_at_) {}

connection::~connection() {
    cache_.clear();  // statements first, while the handle is still open
}

outcome<std::unique_ptr<connection>> connection::open(const settings& s, const host_spec& host) {
    const std::string where = host.text.empty() ? std::string("(default host)") : host.text;
    if (!library_ready()) {
        return make_error(CR_UNKNOWN_ERROR, "HY000", "mysql_library_init failed");
    }
    std::unique_ptr<st_mysql, closer> m(mysql_init(nullptr));
    if (!m) {
        return make_error(CR_OUT_OF_MEMORY, "HY000", where + ": mysql_init: out of memory");
    }
    unsigned connect_s = timeout_seconds(s.connect_timeout);
    unsigned read_s = timeout_seconds(s.read_timeout);
    unsigned write_s = timeout_seconds(s.write_timeout);
    my_bool reconnect = 0;      // see connection.hh: a broken connection is discarded instead
    unsigned local_infile = 0;  // a hostile server must not read our files (LOAD DATA LOCAL)
    mysql_options(m.get(), MYSQL_OPT_CONNECT_TIMEOUT, &connect_s);
    mysql_options(m.get(), MYSQL_OPT_READ_TIMEOUT, &read_s);
    mysql_options(m.get(), MYSQL_OPT_WRITE_TIMEOUT, &write_s);
    mysql_options(m.get(), MYSQL_OPT_RECONNECT, &reconnect);
    mysql_options(m.get(), MYSQL_OPT_LOCAL_INFILE, &local_infile);
    if (!s.option_file.empty()) {
        mysql_options(m.get(), MYSQL_READ_DEFAULT_FILE, s.option_file.c_str());
        mysql_options(m.get(), MYSQL_READ_DEFAULT_GROUP, s.option_group.c_str());
    }
    if (!s.charset.empty()) {
        mysql_options(m.get(), MYSQL_SET_CHARSET_NAME, s.charset.c_str());
    }
    bool tls = s.tls_require || !s.tls_ca_file.empty() || !s.tls_ca_path.empty() ||
               !s.tls_cert_file.empty();
    if (tls) {
        my_bool on = 1, verify = s.tls_verify_cert ? 1 : 0;
        mysql_optionsv(m.get(), MYSQL_OPT_SSL_ENFORCE, &on);  // never fall back to clear text
        mysql_optionsv(m.get(), MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &verify);
        // Connector/C checks the chain whenever it is given CAs; unverified means none given.
        for (auto [option, path] : {std::pair{MYSQL_OPT_SSL_CA, &s.tls_ca_file},
                                    {MYSQL_OPT_SSL_CAPATH, &s.tls_ca_path},
                                    {MYSQL_OPT_SSL_CERT, &s.tls_cert_file},
                                    {MYSQL_OPT_SSL_KEY, &s.tls_key_file}}) {
            bool ca = option == MYSQL_OPT_SSL_CA || option == MYSQL_OPT_SSL_CAPATH;
            if (!path->empty() && (s.tls_verify_cert || !ca)) {
                mysql_optionsv(m.get(), option, path->c_str());
            }
        }
    }
    const char* host_arg = or_null(host.host);
    const char* socket_arg = nullptr;
    if (!host.socket.empty()) {
        unsigned protocol = MYSQL_PROTOCOL_SOCKET;
        mysql_options(m.get(), MYSQL_OPT_PROTOCOL, &protocol);
        host_arg = "localhost";
        socket_arg = host.socket.c_str();
    } else if (!host.host.empty()) {
        unsigned protocol = MYSQL_PROTOCOL_TCP;  // else "localhost" would mean the socket
        mysql_options(m.get(), MYSQL_OPT_PROTOCOL, &protocol);
    }
    // No user and no option file over a unix socket: this process's own system user, so that
    // MariaDB's unix_socket authentication knows each daemon by the account it runs as.
    std::string user = s.user;
    if (user.empty() && s.option_file.empty() && !host.socket.empty()) {
        user = effective_user_name();
    }
    if (mysql_real_connect(m.get(), host_arg, or_null(user), or_null(s.password),
                           or_null(s.database), host.port, socket_arg,
                           CLIENT_MULTI_RESULTS) == nullptr) {
        return make_error(mysql_errno(m.get()), mysql_sqlstate(m.get()),
                          where + ": " + mysql_error(m.get()));
    }
    // Connector/C opens its socket without close-on-exec: a program started by a daemon would
    // otherwise inherit a logged-in connection (the sandbox closes it too; this is the second
    // lock on the same door).
    if (int fd = static_cast<int>(mysql_get_socket(m.get())); fd >= 0) {
        ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
    }
    return std::unique_ptr<connection>(new connection(m.release(), host));
}

db::error connection::last_error() const {
    return make_error(mysql_errno(mysql_.get()), mysql_sqlstate(mysql_.get()),
                      mysql_error(mysql_.get()));
}

db::error connection::broken_error() const {
    return make_error(
        local_error::connection_broken, "",
        "connection to " + host_.text + " is broken (error " + std::to_string(broken_code_) + ")");
}

db::error connection::check(db::error e) {
    if (breaks_connection(e.code)) {
        mark_broken(e.code);
    }
    return e;
}

void connection::mark_broken(unsigned code) {
    if (!broken_) {
        broken_ = true;
        broken_code_ = code;
    }
    // Closing a statement may send COM_STMT_CLOSE; the socket write does not block on a full
    // buffer for these tiny packets, and errors are ignored by the client library.
    cache_.clear();
}

outcome<statement*> connection::prepared(std::string_view sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
        return it->second.get();
    }
    if (cache_.size() >= max_cached_statements) {
        cache_.clear();
    }
    auto made = statement::prepare(mysql_.get(), sql);
    if (!made) {
        return check(made.error());
    }
    return cache_.emplace(std::string(sql), std::move(made.value())).first->second.get();
}

template <typename Run>
auto connection::with_statement(std::string_view sql, Run run) -> decltype(run(nullptr)) {
    if (broken_) {
        return broken_error();
    }
    library_ready();
    for (int attempt = 0;; ++attempt) {
        auto st = prepared(sql);
        if (!st) {
            return st.error();
        }
        auto r = run(*st);
        if (r) {
            last_used_ = clock::now();
            return r;
        }
        if (r.error().code == ER_NEED_REPREPARE && attempt == 0) {
            cache_.erase(cache_.find(sql));  // the table changed under the statement: prepare again
            continue;
        }
        return check(r.error());
    }
}

outcome<result> connection::query(std::string_view sql, const std::vector<param>& params) {
    return with_statement(sql, [&](statement* st) { return st->execute(params); });
}

outcome<uint64_t> connection::query_each(std::string_view sql, const std::vector<param>& params,
                                         const row_sink& each) {
    try {
        // ER_NEED_REPREPARE comes from the execute, before any row: a retry repeats none.
        return with_statement(sql, [&](statement* st) { return st->execute_each(params, each); });
    } catch (...) {
        mark_broken();  // the rest of the result is still on the wire
        throw;
    }
}

outcome<void> connection::ping() {
    if (broken_) {
        return broken_error();
    }
    library_ready();
    if (mysql_ping(mysql_.get()) != 0) {
        db::error e = last_error();
        mark_broken(e.code);
        return e;
    }
    last_used_ = clock::now();
    return {};
}

outcome<void> connection::simple_query(std::string_view sql) {
    MYSQL* m = mysql_.get();
    if (mysql_real_query(m, sql.data(), sql.size()) != 0) {
        return check(last_error());
    }
    int status = 0;
    do {
        MYSQL_RES* res = mysql_store_result(m);
        if (res != nullptr) {
            mysql_free_result(res);
        } else if (mysql_field_count(m) != 0) {
            return check(last_error());
        }
        status = mysql_next_result(m);
    } while (status == 0);
    if (status > 0) {
        return check(last_error());
    }
    last_used_ = clock::now();
    return {};
}

outcome<void> connection::execute_script(std::string_view sql) {
    if (broken_) {
        return broken_error();
    }
    library_ready();
    std::vector<std::string> statements = split_sql_script(sql);
    for (size_t i = 0; i < statements.size(); ++i) {
        auto r = simple_query(statements[i]);
        if (!r) {
            db::error e = r.error();
            e.message = "statement " + std::to_string(i + 1) + " (" +
                        statement_head(statements[i]) + "): " + e.message;
            return e;
        }
    }
    return {};
}

outcome<void> connection::begin(bool consistent_snapshot) {
    if (broken_) {
        return broken_error();
    }
    library_ready();
    if (!consistent_snapshot) {
        return simple_query("START TRANSACTION");
    }
    // A snapshot holds for the whole transaction only under REPEATABLE READ; a server or option
    // file may make READ COMMITTED the default (a common Galera setting), under which every
    // SELECT would see a later state. SET TRANSACTION sets the next transaction only.
    if (auto set = simple_query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"); !set) {
        return set;
    }
    return simple_query("START TRANSACTION WITH CONSISTENT SNAPSHOT");
}

outcome<void> connection::commit() {
    if (broken_) {
        return broken_error();
    }
    library_ready();
    return simple_query("COMMIT");
}

outcome<void> connection::rollback() {
    if (broken_) {
        return broken_error();
    }
    library_ready();
    return simple_query("ROLLBACK");
}

bool connection::in_transaction() const {
    unsigned status = 0;
    if (broken_ || mariadb_get_infov(mysql_.get(), MARIADB_CONNECTION_SERVER_STATUS, &status)) {
        return false;
    }
    return (status & SERVER_STATUS_IN_TRANS) != 0;
}

unsigned long connection::server_thread_id() const {
    return mysql_thread_id(mysql_.get());
}

}  // namespace vhostmail::db
