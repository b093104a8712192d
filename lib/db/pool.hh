// SPDX-License-Identifier: Apache-2.0
// pool.hh - a bounded, thread-safe pool of connections with host failover (STYLE lesson 9,
// Postfix dict_mysql behaviour).
// - At most settings::pool_size connections, opened lazily on demand.
// - acquire() waits up to settings::lease_timeout for a free connection, then fails with a
//   temporary local_error::lease_timeout error.
// - Hosts are tried in settings order. A host that failed to connect, or on which a statement
//   broke the connection with a temporary error (server gone, read timeout, Galera node not
//   ready), is marked down for retry_interval: new connections try it only after every host
//   not marked down has failed (so with all hosts down they are all tried, in order).
//   A pooled connection to a later host is closed when it is given back while an earlier
//   host's down mark has expired, so the pool drifts back to the first ("home") host.
// - After a connection to a host broke, the idle connections to that host opened before are
//   discarded too (after a server restart they are all dead).
// - A connection idle longer than idle_interval is pinged before reuse; if the ping fails it is
//   closed (the host is not marked down: servers close idle sessions) and another one is used.
// - A lease returns its connection on destruction: broken ones are closed; a transaction left
//   open is rolled back first.
// Thread safety: all pool members may be called from any thread concurrently; a lease and its
// connection are used by one thread at a time. The pool must outlive its leases. No thread
// setup is needed (see connection.hh).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include "lib/db/connection.hh"
#include "lib/db/errors.hh"
#include "lib/db/settings.hh"

namespace vhostmail::db {

class pool;

// Exclusive use of one pooled connection, returned to the pool when the lease is destroyed.
class lease {
public:
    lease(lease&& o) noexcept;
    lease& operator=(lease&& o) noexcept;
    ~lease();
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;

    connection& operator*() const { return *conn_; }

    connection* operator->() const { return conn_.get(); }

    // Index of the host in settings::hosts this connection went to.
    size_t host_index() const { return host_; }

    // Gives the connection back now (also done by the destructor); the lease becomes empty.
    void release();

private:
    friend class pool;
    lease(pool* p, std::unique_ptr<connection> c, size_t host, uint64_t generation);

    pool* pool_ = nullptr;
    std::unique_ptr<connection> conn_;
    size_t host_ = 0;
    uint64_t generation_ = 0;
};

// Returns "" when `s` is usable by a pool, else what is wrong (bad host entry, pool_size 0).
std::string check_settings(const settings& s);

class pool {
public:
    // No connection is opened here. Throws std::invalid_argument when check_settings(s) fails
    // (validate configuration before; this is a programming error at this point).
    explicit pool(settings s);
    // All leases must have been destroyed. Closes the idle connections.
    ~pool();
    pool(const pool&) = delete;
    pool& operator=(const pool&) = delete;

    // What its connections are opened with.
    const settings& connection_settings() const { return settings_; }

    // A connection for exclusive use. Errors: local_error::lease_timeout (temporary) when all
    // pool_size connections stayed busy for lease_timeout; the connect error when no host could
    // be reached (temporary when any host failed temporarily; the message names every host).
    outcome<lease> acquire();

    // Runs fn(connection&) -> outcome<T> on a leased connection. When fn fails with a temporary
    // error that broke the connection (server restarted, connection lost, node not ready), it is
    // run ONCE more on another connection (a new one, or one to another host). Only for
    // read-only or idempotent work: the first attempt may have been executed by the server.
    template <typename F>
    auto run(F&& fn) -> std::invoke_result_t<F&, connection&>;

    // run(), and again (3 tries in all) after a random 1-10 ms when fn fails with a deadlock or
    // Galera certification conflict (1213), which the server has rolled back: docs/cluster.md rule
    // 3, for single autocommit statements of shared state. Then the 1213 is returned (temporary).
    template <typename F>
    auto run_retrying_deadlocks(F&& fn) -> std::invoke_result_t<F&, connection&>;

    struct stats {
        unsigned open = 0;  // connections alive or being opened (idle + leased)
        unsigned idle = 0;
        unsigned waiting = 0;  // callers of acquire() waiting for a connection to be freed
    };

    stats current_stats() const;
    // True while host `index` is skipped because of a recent failure.
    bool host_down(size_t index) const;

private:
    friend class lease;

    struct idle_connection {
        std::unique_ptr<connection> conn;
        size_t host = 0;
        uint64_t generation = 0;
    };

    struct host_state {
        std::chrono::steady_clock::time_point down_until{};
        uint64_t generation = 0;  // bumped when a connection to the host broke
    };

    struct opened {
        std::unique_ptr<connection> conn;
        size_t host = 0;
        uint64_t generation = 0;
    };

    outcome<opened> connect_any();
    outcome<lease> reuse(idle_connection idle);
    void give_back(std::unique_ptr<connection> conn, size_t host, uint64_t generation);
    void forget_one();                     // one connection fewer; wakes a waiter
    size_t preferred_host_locked() const;  // first host not marked down
    bool usable_locked(const idle_connection& c) const;

    const settings settings_;
    std::vector<host_spec> hosts_;
    mutable std::mutex mutex_;
    std::condition_variable freed_;
    std::vector<idle_connection> idle_;  // most recently used last
    std::vector<host_state> host_states_;
    unsigned open_ = 0;
    unsigned waiting_ = 0;
};

template <typename F>
auto pool::run(F&& fn) -> std::invoke_result_t<F&, connection&> {
    using result_type = std::invoke_result_t<F&, connection&>;
    for (int attempt = 0;; ++attempt) {
        auto l = acquire();
        if (!l) {
            return result_type(l.error());
        }
        result_type r = fn(**l);
        if (r || attempt > 0 || !r.error().temporary || !(*l)->broken()) {
            return r;
        }
    }
}

// 1-10 ms, different per thread, so that colliding writers do not collide again.
std::chrono::milliseconds deadlock_backoff();

template <typename F>
auto pool::run_retrying_deadlocks(F&& fn) -> std::invoke_result_t<F&, connection&> {
    for (int attempt = 1;; ++attempt) {
        auto r = run(fn);
        if (r || r.error().code != 1213 || attempt == 3) {
            return r;
        }
        std::this_thread::sleep_for(deadlock_backoff());
    }
}

}  // namespace vhostmail::db
