// SPDX-License-Identifier: Apache-2.0
// db_integration_test.cc - lib/db against a real MariaDB, driven by run_db_test.py.
// The program stays up while the script kills, restarts and pauses the server, so the same pool
// must recover without a restart of the program. Protocol: one command per stdin line, one
// reply line per command on stdout:
//   "OK key=value ..."                          the step worked
//   "ERR code=N temporary=0|1 broken=0|1 elapsed_ms=N message=..."   a db::error came back
//   "FAIL what went wrong"                      a check inside the program failed
// Usage: db_integration_test --socket PATH --user U --password P --database D
//        [--tcp-port N] [--read-timeout-ms N] [--connect-timeout-ms N]
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <limits>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "lib/db/migrate.hh"
#include "lib/db/pool.hh"

namespace db = vhostmail::db;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

struct options {
    std::string socket, user, password, database;
    unsigned tcp_port = 0;
    std::chrono::milliseconds read_timeout{1000};
    std::chrono::milliseconds connect_timeout{1000};
};

db::settings base_settings(const options& o) {
    db::settings s;
    s.hosts = {"unix:" + o.socket};
    s.user = o.user;
    s.password = o.password;
    s.database = o.database;
    s.connect_timeout = o.connect_timeout;
    s.read_timeout = o.read_timeout;
    s.write_timeout = o.read_timeout;
    s.retry_interval = 10s;
    s.idle_interval = 3600s;  // no ping before reuse: the tests want to hit stale connections
    s.lease_timeout = 2s;
    s.pool_size = 2;
    return s;
}

std::string one_line(std::string s) {
    for (char& c : s) {
        if (c == '\n' || c == '\r') {
            c = ' ';
        }
    }
    return s;
}

std::string err_reply(const db::error& e, steady::time_point start, bool broken) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
    return "ERR code=" + std::to_string(e.code) + " temporary=" + (e.temporary ? "1" : "0") +
           " broken=" + (broken ? "1" : "0") + " elapsed_ms=" + std::to_string(ms.count()) +
           " message=" + one_line(e.message);
}

// Collects failed checks of a multi-step command.
struct checker {
    std::vector<std::string> failures;

    void operator()(bool ok, const std::string& what) {
        if (!ok) {
            failures.push_back(what);
        }
    }

    std::string reply(const std::string& ok_text) const {
        if (failures.empty()) {
            return "OK " + ok_text;
        }
        std::string out = "FAIL";
        for (const auto& f : failures) {
            out += " | " + one_line(f);
        }
        return out;
    }
};

std::string show(const db::value& v) {
    if (!v) {
        return "NULL";
    }
    return v->size() > 80 ? "'" + v->substr(0, 80) + "...' (" + std::to_string(v->size()) + ")"
                          : "'" + *v + "'";
}

// One query on a pooled connection, no retry: shows what the first caller after a fault sees.
std::string cmd_query(db::pool& p, const std::string& sql) {
    auto start = steady::now();
    auto l = p.acquire();
    if (!l) {
        return err_reply(l.error(), start, false);
    }
    auto r = (*l)->query(sql);
    if (!r) {
        return err_reply(r.error(), start, (*l)->broken());
    }
    return "OK rows=" + std::to_string(r->rows.size()) +
           (r->rows.empty() || r->rows[0].columns.empty() ? "" : " value=" + r->rows[0].str(0)) +
           " host=" + std::to_string(l->host_index());
}

// The same through pool::run, which retries once on a fresh connection.
std::string cmd_run(db::pool& p) {
    auto start = steady::now();
    int calls = 0;
    auto r = p.run([&](db::connection& c) {
        ++calls;
        return c.query("SELECT 1");
    });
    if (!r) {
        return err_reply(r.error(), start, false);
    }
    return "OK calls=" + std::to_string(calls) + " value=" + r->rows.at(0).str(0);
}

std::string cmd_roundtrip(db::pool& p) {
    auto start = steady::now();
    auto l = p.acquire();
    if (!l) {
        return err_reply(l.error(), start, false);
    }
    db::connection& c = **l;
    checker check;
    auto ddl = c.query(
        "CREATE OR REPLACE TABLE it_roundtrip ("
        " id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,"
        " t LONGTEXT NULL, v VARCHAR(64) NULL, b LONGBLOB NULL, i BIGINT NULL,"
        " u BIGINT UNSIGNED NULL, d DOUBLE NULL, ts DATETIME NULL,"
        " UNIQUE KEY it_v (v)) DEFAULT CHARSET=utf8mb4");
    if (!ddl) {
        return err_reply(ddl.error(), start, c.broken());
    }
    const std::string insert =
        "INSERT INTO it_roundtrip (t, v, b, i, u, d, ts) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)";
    const std::string select = "SELECT t, v, b, i, u, d, ts FROM it_roundtrip WHERE id = ?";

    // 1. NULL everywhere.
    auto nulls = c.query(insert, {nullptr, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr});
    check(nulls.ok(), "insert NULLs: " + (nulls ? "" : db::describe(nulls.error())));
    if (nulls) {
        check(nulls->affected_rows == 1, "insert NULLs affected_rows");
        check(nulls->insert_id == 1, "insert NULLs insert_id=" + std::to_string(nulls->insert_id));
        auto r = c.query(select, {uint64_t{nulls->insert_id}});
        check(r && r->rows.size() == 1, "select NULL row");
        if (r && r->rows.size() == 1) {
            for (size_t i = 0; i < 7; ++i) {
                check(r->rows[0].is_null(i),
                      "column " + std::to_string(i) + " not NULL: " + show(r->rows[0].at(i)));
            }
        }
    }

    // 2. Long text, 4-byte UTF-8 and NUL, every byte value, integer limits, double, datetime.
    std::string long_text;
    for (int i = 0; long_text.size() < (1 << 20) + 17; ++i) {
        long_text += "line " + std::to_string(i) + " äöü €\n";
    }
    const std::string utf8 = std::string(
                                 "Gr\xc3\xbc\xc3\x9f"
                                 "e \xe6\x97\xa5\xe6\x9c\xac ") +
                             "\xf0\x9f\x98\x80" + std::string(1, '\0') + "end";
    std::string bytes;
    for (int rep = 0; rep < 300; ++rep) {
        for (int b = 0; b < 256; ++b) {
            bytes += static_cast<char>(b);
        }
    }
    const int64_t i64min = std::numeric_limits<int64_t>::min();
    const uint64_t u64max = std::numeric_limits<uint64_t>::max();
    auto full = c.query(
        insert, {long_text, utf8, bytes, i64min, u64max, 2.5, std::string("2024-02-29 12:34:56")});
    check(full.ok(), "insert data: " + (full ? "" : db::describe(full.error())));
    if (full) {
        auto r = c.query(select, {uint64_t{full->insert_id}});
        check(r && r->rows.size() == 1, "select data row");
        if (r && r->rows.size() == 1) {
            const db::row& row = r->rows[0];
            check(row.str(0) == long_text, "long text differs: got " + show(row.at(0)));
            check(row.str(1) == utf8, "utf8 differs: got " + show(row.at(1)));
            check(row.str(2) == bytes,
                  "bytes differ: got size " + std::to_string(row.str(2).size()));
            check(row.i64(3) == i64min && row.str(3) == "-9223372036854775808",
                  "int64 min: " + show(row.at(3)));
            check(row.u64(4) == u64max, "uint64 max: " + show(row.at(4)));
            check(row.str(5) == "2.5", "double: " + show(row.at(5)));
            check(row.str(6) == "2024-02-29 12:34:56", "datetime: " + show(row.at(6)));
        }
    }

    // 3. Empty strings are not NULL; a parameter in WHERE is data, never SQL.
    auto empty = c.query(insert, {std::string(), std::string(), std::string(), int64_t{0},
                                  uint64_t{0}, 0.0, nullptr});
    check(empty.ok(), "insert empty strings");
    auto found = c.query("SELECT id, v FROM it_roundtrip WHERE v = ?", {std::string()});
    check(found && found->rows.size() == 1 && found->rows[0].str(1).empty() &&
              !found->rows[0].is_null(1),
          "empty string select");
    auto injection =
        c.query("SELECT COUNT(*) FROM it_roundtrip WHERE v = ?", {std::string("' OR '1'='1")});
    check(injection && injection->rows.at(0).i64(0) == 0, "parameter treated as SQL");

    // 4. UPDATE counts, repeated SQL reuses the cached statement.
    const size_t cached = c.cached_statements();
    auto upd = c.query("UPDATE it_roundtrip SET i = i + ? WHERE i IS NOT NULL", {5});
    check(upd && upd->affected_rows == 2, "update affected_rows");
    auto upd2 = c.query("UPDATE it_roundtrip SET i = i + ? WHERE i IS NOT NULL", {-5});
    check(upd2.ok() && c.cached_statements() == cached + 1, "statement cache reuse");

    // 5. Permanent errors leave the connection usable.
    auto mismatch = c.query(select, {});
    check(!mismatch && mismatch.error().code == db::local_error::usage &&
              !mismatch.error().temporary && !c.broken(),
          "parameter count mismatch");
    auto syntax = c.query("SELEC nonsense");
    check(!syntax && syntax.error().code == 1064 && !syntax.error().temporary && !c.broken(),
          "syntax error: " + (syntax ? "" : db::describe(syntax.error())));
    auto dup = c.query(insert, {nullptr, utf8, nullptr, nullptr, nullptr, nullptr, nullptr});
    check(!dup && dup.error().code == 1062 && dup.error().sqlstate == "23000" && !c.broken(),
          "duplicate key");
    auto bad_utf8 = c.query(
        insert, {nullptr, std::string("\xff\xfe"), nullptr, nullptr, nullptr, nullptr, nullptr});
    check(!bad_utf8 && bad_utf8.error().code == 1366 && !bad_utf8.error().temporary,
          "invalid UTF-8 into a utf8mb4 column must be rejected");

    // 6. Many rows.
    auto many = c.query("SELECT seq, REPEAT('x', seq) FROM seq_1_to_2000");
    check(many && many->rows.size() == 2000 && many->rows[1999].str(1).size() == 2000, "2000 rows");

    // 7. Streamed: the same rows as buffered, NULLs and long values included, though one view
    //    is refilled for every row; its accessors answer as a buffered row's do, integer
    //    columns (read as numbers) at the edges of their range included.
    const std::string all_rows = "SELECT t, v, b, i, u, d, ts FROM it_roundtrip ORDER BY id";
    auto buffered = c.query(all_rows);
    std::vector<db::row> streamed;
    bool accessors_agree = true;
    std::string disagreement;
    auto streamed_count = c.query_each(all_rows, {}, [&](const db::row_view& r) {
        streamed.push_back(r.copy());
        const db::row& b = streamed.back();
        for (size_t col = 0; col < r.size(); ++col) {
            bool same = r.is_null(col) == b.is_null(col) && r.str(col, "-") == b.str(col, "-") &&
                        r.opt_i64(col) == b.opt_i64(col) && r.opt_u64(col) == b.opt_u64(col) &&
                        r.i64(col, 7) == b.i64(col, 7) && r.u64(col, 7) == b.u64(col, 7) &&
                        r.boolean(col) == b.boolean(col);
            if (!same) {
                accessors_agree = false;
                disagreement += " row " + std::to_string(streamed.size()) + " column " +
                                std::to_string(col) + " (" + show(b.at(col)) + ")";
            }
        }
    });
    check(accessors_agree,
          "a streamed row's accessors answer as the buffered row's:" + disagreement);
    check(buffered && streamed_count && *streamed_count == 3 && streamed.size() == 3,
          "streamed row count");
    if (buffered && streamed.size() == buffered->rows.size()) {
        for (size_t i = 0; i < streamed.size(); ++i) {
            for (size_t col = 0; col < 7; ++col) {
                check(streamed[i].at(col) == buffered->rows[i].at(col),
                      "streamed row " + std::to_string(i) + " column " + std::to_string(col) +
                          ": " + show(streamed[i].at(col)) + " buffered " +
                          show(buffered->rows[i].at(col)));
            }
        }
    }
    size_t seq_rows = 0;
    bool seq_right = true;
    auto seq = c.query_each("SELECT seq, REPEAT('x', ?) FROM seq_1_to_20000", {uint64_t{300}},
                            [&](const db::row_view& r) {
                                ++seq_rows;
                                seq_right = seq_right && r.u64(0) == seq_rows &&
                                            r.str(1) == std::string(300, 'x');
                            });
    check(seq && *seq == 20000 && seq_rows == 20000 && seq_right, "20000 streamed rows");
    auto bad_stream = c.query_each("SELEC nonsense", {}, [](const db::row_view&) {});
    check(!bad_stream && bad_stream.error().code == 1064 && !c.broken(),
          "streamed syntax error leaves the connection usable");
    check(c.query("SELECT 1").ok(), "query after streaming");

    // 8. Transactions: rollback, and a lease given back mid-transaction is rolled back.
    check(c.begin().ok() && c.in_transaction(), "begin");
    check(c.query("DELETE FROM it_roundtrip").ok(), "delete in transaction");
    check(c.rollback().ok() && !c.in_transaction(), "rollback");
    auto count = c.query("SELECT COUNT(*) FROM it_roundtrip");
    check(count && count->rows.at(0).i64(0) == 3, "rows after rollback");
    check(c.begin(true).ok(), "begin consistent snapshot");
    check(c.query("DELETE FROM it_roundtrip").ok(), "delete in snapshot transaction");
    l->release();
    auto l2 = p.acquire();
    check(l2.ok(), "acquire after release");
    if (l2) {
        auto after = (*l2)->query("SELECT COUNT(*) FROM it_roundtrip");
        check(after && after->rows.at(0).i64(0) == 3, "open transaction rolled back on release");
        check(!(*l2)->in_transaction(), "in_transaction after release");
        check((*l2)->query("DROP TABLE it_roundtrip").ok(), "drop table");
        // A sink that throws leaves the result half read: the connection must not be reused.
        bool thrown = false;
        try {
            (void)(*l2)->query_each("SELECT seq FROM seq_1_to_100000", {},
                                    [](const db::row_view& r) {
                                        if (r.u64(0) == 10) {
                                            throw std::runtime_error("sink failed");
                                        }
                                    });
        } catch (const std::runtime_error&) {
            thrown = true;
        }
        check(thrown && (*l2)->broken(), "a throwing sink propagates and breaks the connection");
    }
    return check.reply("roundtrip");
}

std::string cmd_lease_timeout(const options& o) {
    db::settings s = base_settings(o);
    s.pool_size = 1;
    s.lease_timeout = 300ms;
    db::pool p(s);
    auto first = p.acquire();
    if (!first) {
        return err_reply(first.error(), steady::now(), false);
    }
    auto start = steady::now();
    auto second = p.acquire();
    if (second) {
        return "FAIL second lease granted with pool_size 1";
    }
    std::string reply = err_reply(second.error(), start, false);
    first->release();
    auto third = p.acquire();
    return third ? reply : "FAIL no lease after release: " + db::describe(third.error());
}

std::string cmd_failover(const options& o, const std::string& dead_socket) {
    db::settings s = base_settings(o);
    s.hosts = {"unix:" + dead_socket, "unix:" + o.socket};
    db::pool p(s);
    checker check;
    auto l = p.acquire();
    if (!l) {
        return err_reply(l.error(), steady::now(), false);
    }
    check(l->host_index() == 1, "first lease on host " + std::to_string(l->host_index()));
    check(p.host_down(0) && !p.host_down(1), "host 0 should be marked down");
    auto r = (*l)->query("SELECT 1");
    check(r.ok(), "query on host 1");
    l->release();
    // A bad host first with nothing reachable at all: a temporary error naming both hosts.
    db::settings none = s;
    none.hosts = {"unix:" + dead_socket, "unix:" + dead_socket + ".2"};
    db::pool dead(none);
    auto e = dead.acquire();
    check(!e && e.error().temporary && e.error().message.find(".2") != std::string::npos,
          "all hosts dead: " + (e ? std::string("lease granted") : db::describe(e.error())));
    return check.reply("failover");
}

// begin(true) keeps one snapshot for the whole transaction even when the session's default is
// READ COMMITTED (a common Galera setting), under which each SELECT would see later commits.
std::string cmd_snapshot_isolation(db::pool& p) {
    checker check;
    auto reader = p.acquire();
    auto writer = p.acquire();
    if (!reader || !writer) {
        return "FAIL cannot lease two connections";
    }
    db::connection& r = **reader;
    db::connection& w = **writer;
    auto value = [&r]() -> std::string {
        auto v = r.query("SELECT v FROM it_isolation");
        return v && !v->rows.empty() ? v->rows[0].str(0) : "?";
    };
    check(w.query("CREATE TABLE it_isolation (v INT NOT NULL) ENGINE=InnoDB").ok(), "create");
    check(w.query("INSERT INTO it_isolation VALUES (1)").ok(), "insert");
    check(r.query("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED").ok(),
          "session default READ COMMITTED");
    check(r.begin(true).ok(), "begin consistent snapshot");
    check(value() == "1", "value in the snapshot");
    check(w.query("UPDATE it_isolation SET v = 2").ok(), "update by another session");
    std::string seen = value();
    check(seen == "1", "the snapshot still sees 1 after another session's commit, saw " + seen);
    check(r.rollback().ok(), "rollback");
    check(value() == "2", "after the transaction: the new value");
    check(w.query("DROP TABLE it_isolation").ok(), "drop");
    check(r.query("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ").ok(),
          "session default back to REPEATABLE READ");
    return check.reply("snapshot=" + seen);
}

// KILL CONNECTION of a pooled session from another session: the victim sees a temporary,
// breaking error and the pool replaces it.
std::string cmd_kill_session(db::pool& p) {
    checker check;
    auto victim = p.acquire();
    auto killer = p.acquire();
    if (!victim || !killer) {
        return "FAIL cannot lease two connections";
    }
    auto k = (*killer)->query("KILL CONNECTION ?", {uint64_t{(*victim)->server_thread_id()}});
    check(k.ok(), "KILL: " + (k ? "" : db::describe(k.error())));
    auto start = steady::now();
    auto r = (*victim)->query("SELECT 1");
    std::string seen = r ? "OK" : err_reply(r.error(), start, (*victim)->broken());
    check(!r && r.error().temporary && (*victim)->broken(), "victim: " + seen);
    victim->release();
    killer->release();
    auto again = p.acquire();
    check(again && (*again)->query("SELECT 1").ok(), "pool after kill");
    return check.reply("victim=" + seen.substr(0, seen.find(" elapsed")));
}

std::string cmd_migrate(db::pool& p, const std::string& dir) {
    auto start = steady::now();
    auto l = p.acquire();
    if (!l) {
        return err_reply(l.error(), start, false);
    }
    auto r = db::migrate(**l, dir);
    if (!r) {
        return err_reply(r.error(), start, (*l)->broken());
    }
    std::string applied;
    for (unsigned v : r->applied) {
        applied += (applied.empty() ? "" : ",") + std::to_string(v);
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - start);
    return "OK applied=" + (applied.empty() ? std::string("none") : applied) +
           " version=" + std::to_string(r->schema_version) +
           " elapsed_ms=" + std::to_string(ms.count());
}

std::string cmd_status(db::pool& p, const std::string& dir) {
    auto start = steady::now();
    auto l = p.acquire();
    if (!l) {
        return err_reply(l.error(), start, false);
    }
    auto r = db::schema_status(**l, dir);
    if (!r) {
        return err_reply(r.error(), start, (*l)->broken());
    }
    std::string out = "OK";
    for (const auto& m : *r) {
        out += " " + std::to_string(m.version) + ":" + m.name + ":" +
               (m.applied ? "applied" : "pending") + (m.file_present ? "" : ":nofile") +
               (m.applied && m.applied_at.size() != 19 ? ":badtime" : "");
    }
    return out;
}

std::string cmd_stats(db::pool& p) {
    auto s = p.current_stats();
    return "OK open=" + std::to_string(s.open) + " idle=" + std::to_string(s.idle) +
           " host0_down=" + (p.host_down(0) ? "1" : "0");
}

// Fills the pool with `n` idle connections (all leased at once, then given back).
std::string cmd_warm(db::pool& p, int n) {
    std::vector<db::lease> leases;
    for (int i = 0; i < n; ++i) {
        auto l = p.acquire();
        if (!l) {
            return err_reply(l.error(), steady::now(), false);
        }
        leases.push_back(std::move(l.value()));
    }
    return "OK warmed=" + std::to_string(leases.size());
}

std::string cmd_tcp(const options& o) {
    db::settings s = base_settings(o);
    s.hosts = {"127.0.0.1:" + std::to_string(o.tcp_port)};
    db::pool p(s);
    return cmd_query(p, "SELECT CONCAT(CURRENT_USER(), ' ', @@port)");
}

// `threads` workers share the pool for `ms` milliseconds (the script may kill or restart the
// server meanwhile). Every error must be temporary; nothing may crash or hang.
std::string cmd_threads(db::pool& p, int threads, int ms) {
    std::atomic<long> ok{0}, temporary{0}, permanent{0}, wrong{0};
    std::atomic<unsigned> max_open{0};
    std::mutex mutex;
    std::string first_permanent;
    const auto deadline = steady::now() + std::chrono::milliseconds(ms);
    std::vector<std::thread> workers;
    for (int t = 0; t < threads; ++t) {
        workers.emplace_back([&, t] {
            for (int64_t i = 0; steady::now() < deadline; ++i) {
                auto r = p.run([&](db::connection& c) {
                    return c.query("SELECT ?, CONNECTION_ID()", {int64_t{t * 1000000 + i}});
                });
                unsigned open = p.current_stats().open;
                unsigned seen = max_open.load();
                while (open > seen && !max_open.compare_exchange_weak(seen, open)) {
                }
                if (r) {
                    ++ok;
                    if (r->rows.at(0).i64(0) != t * 1000000 + i) {
                        ++wrong;
                    }
                } else if (r.error().temporary) {
                    ++temporary;
                } else {
                    ++permanent;
                    std::lock_guard lock(mutex);
                    if (first_permanent.empty()) {
                        first_permanent = db::describe(r.error());
                    }
                }
            }
        });
    }
    for (auto& w : workers) {
        w.join();
    }
    std::string out = "ok=" + std::to_string(ok) + " temporary=" + std::to_string(temporary) +
                      " permanent=" + std::to_string(permanent) +
                      " wrong=" + std::to_string(wrong) + " max_open=" + std::to_string(max_open);
    if (permanent > 0 || wrong > 0) {
        return "FAIL " + out + " first_permanent=" + one_line(first_permanent);
    }
    return "OK " + out;
}

std::string dispatch(const options& o, db::pool& main_pool, db::pool& ping_pool,
                     const std::string& line) {
    std::istringstream in(line);
    std::string cmd, arg;
    in >> cmd;
    std::getline(in >> std::ws, arg);
    db::pool& p = cmd.starts_with("ping:") ? ping_pool : main_pool;
    if (cmd.starts_with("ping:")) {
        cmd = cmd.substr(5);
    }
    if (cmd == "threads") {
        std::istringstream a(arg);
        int n = 8, ms = 1000;
        a >> n >> ms;
        return cmd_threads(p, n, ms);
    }
    if (cmd == "query") {
        return cmd_query(p, arg.empty() ? "SELECT 1" : arg);
    }
    if (cmd == "run") {
        return cmd_run(p);
    }
    if (cmd == "roundtrip") {
        return cmd_roundtrip(p);
    }
    if (cmd == "lease_timeout") {
        return cmd_lease_timeout(o);
    }
    if (cmd == "failover") {
        return cmd_failover(o, arg);
    }
    if (cmd == "kill_session") {
        return cmd_kill_session(p);
    }
    if (cmd == "snapshot_isolation") {
        return cmd_snapshot_isolation(p);
    }
    if (cmd == "migrate") {
        return cmd_migrate(p, arg);
    }
    if (cmd == "status") {
        return cmd_status(p, arg);
    }
    if (cmd == "stats") {
        return cmd_stats(p);
    }
    if (cmd == "warm") {
        return cmd_warm(p, arg.empty() ? 1 : std::stoi(arg));
    }
    if (cmd == "tcp") {
        return cmd_tcp(o);
    }
    return "FAIL unknown command " + cmd;
}

bool parse_args(int argc, char** argv, options& o) {
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i];
        std::string v = argv[i + 1];
        if (k == "--socket") {
            o.socket = v;
        } else if (k == "--user") {
            o.user = v;
        } else if (k == "--password") {
            o.password = v;
        } else if (k == "--database") {
            o.database = v;
        } else if (k == "--tcp-port") {
            o.tcp_port = static_cast<unsigned>(std::stoul(v));
        } else if (k == "--read-timeout-ms") {
            o.read_timeout = std::chrono::milliseconds(std::stoul(v));
        } else if (k == "--connect-timeout-ms") {
            o.connect_timeout = std::chrono::milliseconds(std::stoul(v));
        } else {
            return false;
        }
    }
    return argc % 2 == 1 && !o.socket.empty();
}

}  // namespace

int main(int argc, char** argv) {
    options o;
    if (!parse_args(argc, argv, o)) {
        std::cerr << "usage: db_integration_test --socket PATH --user U --password P "
                     "--database D [--tcp-port N] [--read-timeout-ms N]\n";
        return 64;
    }
    db::pool p(base_settings(o));
    // A second pool that pings every reused connection (idle_interval 0).
    db::settings ping_settings = base_settings(o);
    ping_settings.idle_interval = 0ms;
    db::pool ping_pool(ping_settings);
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line.empty()) {
            continue;
        }
        if (line == "quit") {
            break;
        }
        std::cout << dispatch(o, p, ping_pool, line) << std::endl;
    }
    return 0;
}
