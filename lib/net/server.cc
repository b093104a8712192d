// SPDX-License-Identifier: Apache-2.0
#include "lib/net/server.hh"

#include <cerrno>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <memory>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

namespace vhostmail::net {

namespace {

// Client threads need little stack; glibc's default 8 MB of address space each adds up when
// Postfix opens hundreds of table connections.
constexpr size_t client_stack_size = 1024 * 1024;

std::string describe_peer(const sockaddr_storage& addr, socklen_t len) {
    if (addr.ss_family == AF_UNIX) {
        return "unix";
    }
    char host[NI_MAXHOST];
    char port[NI_MAXSERV];
    if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof(host), port,
                    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
        return "unknown";
    }
    return addr.ss_family == AF_INET6 ? std::string("[") + host + "]:" + port
                                      : std::string(host) + ":" + port;
}

struct client_start {
    server* owner;
    std::function<void()> body;
};

void* client_thread(void* arg) {
    std::unique_ptr<client_start> start(static_cast<client_start*>(arg));
    start->body();
    return nullptr;
}

}  // namespace

server::server(std::vector<listener> listeners, size_t max_clients, connection_handler handler,
               server_warning warn)
    : listeners_(std::move(listeners)),
      max_clients_(max_clients == 0 ? 1 : max_clients),
      handler_(std::move(handler)),
      warn_(std::move(warn)) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
    }
    stop_read_.reset(fds[0]);
    stop_write_.reset(fds[1]);
}

server::~server() {
    stop();
}

size_t server::active_clients() const {
    std::lock_guard lock(mutex_);
    return active_;
}

void server::stop() {
    if (!stopping_.exchange(true)) {
        char c = 's';
        [[maybe_unused]] auto n = write(stop_write_.get(), &c, 1);
        changed_.notify_all();
    }
}

void server::serve_client(unique_fd fd, std::string peer, const listener& where,
                          std::shared_ptr<connection_slot> slot) {
    int raw = fd.get();
    {
        connection conn(std::move(fd), stop_read_.get(), std::move(peer), std::move(slot));
        try {
            handler_(conn, where);
        } catch (const std::exception& e) {
            warn_("connection from " + conn.peer() + " ended by an internal error: " + e.what());
        } catch (...) {
            warn_("connection from " + conn.peer() + " ended by an unknown internal error");
        }
        std::lock_guard lock(mutex_);
        clients_.erase(raw);
    }
    // Counted out here, but the thread still has to exit (thread-local destructors, the
    // libraries' per-thread state): run() joins it.
    std::lock_guard lock(mutex_);
    --active_;
    finished_.push_back(pthread_self());
    changed_.notify_all();
}

void server::join_finished(bool wait) {
    std::vector<pthread_t> done;
    {
        std::lock_guard lock(mutex_);
        done.swap(finished_);
    }
    std::vector<pthread_t> exiting;
    for (pthread_t t : done) {
        if (wait) {
            pthread_join(t, nullptr);
        } else if (pthread_tryjoin_np(t, nullptr) == EBUSY) {
            exiting.push_back(t);  // still in its thread-local destructors: next turn
        }
    }
    if (!exiting.empty()) {
        std::lock_guard lock(mutex_);
        finished_.insert(finished_.end(), exiting.begin(), exiting.end());
    }
}

void server::accept_one(const listener& where) {
    sockaddr_storage addr{};
    socklen_t len = sizeof(addr);
    int fd = accept4(where.fd.get(), reinterpret_cast<sockaddr*>(&addr), &len,
                     SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED) {
            warn_("accept on " + where.where.text + ": " + std::strerror(errno));
            if (errno == EMFILE || errno == ENFILE) {
                usleep(100'000);  // out of descriptors: don't spin
            }
        }
        return;
    }
    unique_fd client(fd);
    std::string peer = describe_peer(addr, len);
    auto slot = std::make_shared<connection_slot>();
    {
        std::lock_guard lock(mutex_);
        ++active_;
        clients_[fd] = slot;
    }
    auto* start = new client_start{this, {}};
    start->body = [this, c = std::make_shared<unique_fd>(std::move(client)), peer, &where, slot]() {
        serve_client(std::move(*c), peer, where, slot);
    };
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, client_stack_size);
    pthread_t tid;
    int rc = pthread_create(&tid, &attr, client_thread, start);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        warn_(std::string("cannot start a client thread: ") + std::strerror(rc));
        delete start;  // closes the client socket
        std::lock_guard lock(mutex_);
        --active_;
        clients_.erase(fd);
    }
}

bool server::someone_waiting() const {
    std::vector<pollfd> fds;
    for (const auto& l : listeners_) {
        fds.push_back({l.fd.get(), POLLIN, 0});
    }
    return poll(fds.data(), fds.size(), 0) > 0;
}

bool server::make_room() {
    // The connection idle longest goes: its thread waits for a next request and holds nothing.
    // Postfix's table clients reconnect when a cached connection was closed.
    std::shared_ptr<connection_slot> oldest;
    int oldest_fd = -1;
    for (const auto& [fd, slot] : clients_) {
        if (slot->state == connection_slot::idle &&
            (!oldest || slot->idle_since_ms < oldest->idle_since_ms)) {
            oldest = slot;
            oldest_fd = fd;
        }
    }
    int expected = connection_slot::idle;
    if (!oldest || !oldest->state.compare_exchange_strong(expected, connection_slot::evicted)) {
        return false;
    }
    shutdown(oldest_fd, SHUT_RDWR);
    ++evicted_;
    return true;
}

void server::run(std::chrono::milliseconds drain_time) {
    std::vector<pollfd> fds;
    for (const auto& l : listeners_) {
        fds.push_back({l.fd.get(), POLLIN, 0});
    }
    fds.push_back({stop_read_.get(), POLLIN, 0});
    while (!stopping_) {
        join_finished(false);
        {
            std::unique_lock lock(mutex_);
            if (active_ >= max_clients_ && someone_waiting() && make_room()) {
                auto now = std::chrono::steady_clock::now();
                if (now - last_eviction_note_ > std::chrono::minutes(1)) {
                    last_eviction_note_ = now;
                    lock.unlock();
                    warn_("service has reached its client limit of " +
                          std::to_string(max_clients_) +
                          ": closing the connections idle longest for new clients (" +
                          std::to_string(evicted_.load()) + " so far)");
                    lock.lock();
                }
                changed_.wait_for(lock, std::chrono::milliseconds(100),
                                  [&] { return stopping_ || active_ < max_clients_; });
                continue;
            }
            if (active_ >= max_clients_) {
                auto now = std::chrono::steady_clock::now();
                if (now - last_limit_warning_ > std::chrono::minutes(1)) {
                    last_limit_warning_ = now;
                    lock.unlock();
                    warn_("service has reached its client limit of " +
                          std::to_string(max_clients_) + ": new clients wait in the backlog");
                    lock.lock();
                }
                changed_.wait_for(lock, std::chrono::seconds(1),
                                  [&] { return stopping_ || active_ < max_clients_; });
                continue;
            }
        }
        int n = poll(fds.data(), fds.size(), 1000);
        if (n <= 0) {
            continue;
        }
        for (size_t i = 0; i + 1 < fds.size(); ++i) {
            if (fds[i].revents & POLLIN) {
                accept_one(listeners_[i]);
            }
        }
    }
    for (auto& l : listeners_) {
        l.fd.reset();
        if (l.where.type == endpoint::kind::unix_socket) {
            unlink(l.where.path.c_str());
        }
    }
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, drain_time, [&] { return active_ == 0; })) {
        for (const auto& [fd, slot] : clients_) {
            shutdown(fd, SHUT_RDWR);
        }
        // Every connection thread uses this server and the handler until it ends: returning
        // earlier would free them under it. A handler busy past its socket's shutdown is bound
        // by its own deadlines (and the service manager's stop timeout): wait, and say so.
        while (!changed_.wait_for(lock, std::chrono::seconds(10), [&] { return active_ == 0; })) {
            size_t left = active_;
            lock.unlock();
            warn_("stopping: still waiting for " + std::to_string(left) +
                  " connection(s) to finish their request");
            lock.lock();
        }
    }
    lock.unlock();
    join_finished(true);
}

}  // namespace vhostmail::net
