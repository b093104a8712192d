// SPDX-License-Identifier: Apache-2.0
// server.hh - acceptor + bounded thread-per-connection (docs/architecture.md "Concurrency model").
// One thread accepts on every listener; each client gets its own thread, at most max_clients at
// once. At the cap, when a new client is waiting, the connection idle longest between requests
// is closed to make room (connection::read_request marks idle waits), so clients that connect
// and send nothing cannot hold every slot; Postfix's table clients reconnect. When none is
// idle the acceptor stops accepting (the kernel backlog queues new clients). Both are logged
// at most once a minute, like master(8)'s "service ... has reached its process limit".
// stop(): listeners close, idle clients are woken and closed, requests in progress finish;
// after the drain time the remaining sockets are shut down, and run() still waits for every
// connection thread to end (they use the server and the handler), warning every 10 s.
// Thread safety: run() in one thread; stop() from any thread (async-signal-safe: no, call it
// from the signal-handling thread).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <string>
#include <vector>

#include "lib/net/connection.hh"
#include "lib/net/listener.hh"

namespace vhostmail::net {

using connection_handler = std::function<void(connection&, const listener&)>;
using server_warning = std::function<void(const std::string&)>;

class server {
public:
    server(std::vector<listener> listeners, size_t max_clients, connection_handler handler,
           server_warning warn);
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    // Accepts until stop(); returns once every client thread has exited (joined: whatever a
    // library keeps per thread has been freed, so the process may exit at once).
    void run(std::chrono::milliseconds drain_time);
    void stop();

    size_t active_clients() const;

private:
    void serve_client(unique_fd fd, std::string peer, const listener& where,
                      std::shared_ptr<connection_slot> slot);
    void accept_one(const listener& where);
    bool someone_waiting() const;
    bool make_room();               // with mutex_ held
    void join_finished(bool wait);  // wait: block until each has exited

    std::vector<listener> listeners_;
    size_t max_clients_;
    connection_handler handler_;
    server_warning warn_;
    unique_fd stop_read_;
    unique_fd stop_write_;
    std::atomic<bool> stopping_{false};
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    size_t active_ = 0;
    std::map<int, std::shared_ptr<connection_slot>> clients_;
    std::vector<pthread_t> finished_;  // client threads past their handler, to be joined
    std::atomic<uint64_t> evicted_{0};
    std::chrono::steady_clock::time_point last_limit_warning_{};
    std::chrono::steady_clock::time_point last_eviction_note_{};
};

}  // namespace vhostmail::net
