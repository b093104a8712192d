// SPDX-License-Identifier: Apache-2.0
// pool.cc - leasing, lazy connects with failover, give-back and discard rules.
#include "lib/db/pool.hh"

#include <random>
#include <stdexcept>
#include <utility>

namespace vhostmail::db {

namespace {

using clock = std::chrono::steady_clock;

}  // namespace

lease::lease(pool* p, std::unique_ptr<connection> c, size_t host, uint64_t generation)
    : pool_(p), conn_(std::move(c)), host_(host), generation_(generation) {}

lease::lease(lease&& o) noexcept
    : pool_(std::exchange(o.pool_, nullptr)),
      conn_(std::move(o.conn_)),
      host_(o.host_),
      generation_(o.generation_) {}

lease& lease::operator=(lease&& o) noexcept {
    if (this != &o) {
        release();
        pool_ = std::exchange(o.pool_, nullptr);
        conn_ = std::move(o.conn_);
        host_ = o.host_;
        generation_ = o.generation_;
    }
    return *this;
}

lease::~lease() {
    release();
}

void lease::release() {
    if (pool_ != nullptr && conn_) {
        pool_->give_back(std::move(conn_), host_, generation_);
    }
    pool_ = nullptr;
    conn_.reset();
}

std::string check_settings(const settings& s) {
    if (s.pool_size == 0) {
        return "pool_size must be at least 1";
    }
    for (const std::string& h : s.hosts) {
        if (!parse_host(h)) {
            return "invalid database host \"" + h + "\"";
        }
    }
    if (s.tls_require && s.tls_verify_cert && s.tls_ca_file.empty() && s.tls_ca_path.empty()) {
        return "db_tls needs db_tls_ca_file or db_tls_ca_path to verify the server (or"
               " db_tls_verify_cert = no)";
    }
    if (s.tls_cert_file.empty() != s.tls_key_file.empty()) {
        return "db_tls_cert_file and db_tls_key_file go together";
    }
    return "";
}

pool::pool(settings s) : settings_(std::move(s)) {
    if (std::string why = check_settings(settings_); !why.empty()) {
        throw std::invalid_argument(why);
    }
    for (const std::string& h : settings_.hosts) {
        hosts_.push_back(*parse_host(h));
    }
    if (hosts_.empty()) {
        hosts_.push_back(host_spec{});  // the option file's host, or the client default
    }
    host_states_.resize(hosts_.size());
    idle_.reserve(settings_.pool_size);  // give_back runs in destructors: no reallocation there
}

pool::~pool() {
    std::vector<idle_connection> closing;
    {
        std::lock_guard lock(mutex_);
        closing.swap(idle_);
    }
}

outcome<lease> pool::acquire() {
    const auto deadline = clock::now() + settings_.lease_timeout;
    std::unique_lock lock(mutex_);
    for (;;) {
        if (!idle_.empty()) {
            idle_connection c = std::move(idle_.back());
            idle_.pop_back();
            if (!usable_locked(c)) {
                --open_;
                lock.unlock();
                c.conn.reset();  // close outside the lock
                lock.lock();
                continue;
            }
            lock.unlock();
            auto l = reuse(std::move(c));
            if (l) {
                return l;
            }
            lock.lock();
            continue;
        }
        if (open_ < settings_.pool_size) {
            ++open_;
            lock.unlock();
            auto o = connect_any();
            if (!o) {
                forget_one();
                return o.error();
            }
            return lease(this, std::move(o->conn), o->host, o->generation);
        }
        ++waiting_;
        bool timed_out = freed_.wait_until(lock, deadline) == std::cv_status::timeout;
        --waiting_;
        if (timed_out && idle_.empty() && open_ >= settings_.pool_size) {
            return make_error(local_error::lease_timeout, "",
                              "no database connection became free within " +
                                  std::to_string(settings_.lease_timeout.count()) +
                                  " ms (pool_size " + std::to_string(settings_.pool_size) + ")");
        }
    }
}

// Pings a connection that sat idle too long. On failure the connection is closed and the
// host's older idle connections are discarded, but the host is not marked down: servers end
// idle sessions (wait_timeout), and a fresh connect will tell whether the host is really down.
outcome<lease> pool::reuse(idle_connection c) {
    if (clock::now() - c.conn->last_used() > settings_.idle_interval) {
        auto ping = c.conn->ping();
        if (!ping) {
            {
                std::lock_guard lock(mutex_);
                host_state& hs = host_states_[c.host];
                if (hs.generation == c.generation) {
                    ++hs.generation;
                }
                --open_;
            }
            freed_.notify_one();
            return ping.error();
        }
    }
    return lease(this, std::move(c.conn), c.host, c.generation);
}

outcome<pool::opened> pool::connect_any() {
    std::vector<size_t> order;
    {
        std::lock_guard lock(mutex_);
        const auto now = clock::now();
        for (size_t i = 0; i < hosts_.size(); ++i) {
            if (host_states_[i].down_until <= now) {
                order.push_back(i);
            }
        }
        for (size_t i = 0; i < hosts_.size(); ++i) {
            if (host_states_[i].down_until > now) {
                order.push_back(i);  // marked down: only after all others failed
            }
        }
    }
    db::error last;
    std::string messages;
    bool any_temporary = false;
    for (size_t i : order) {
        auto c = connection::open(settings_, hosts_[i]);
        std::lock_guard lock(mutex_);
        host_state& hs = host_states_[i];
        if (c) {
            hs.down_until = {};
            return opened{std::move(c.value()), i, hs.generation};
        }
        hs.down_until = clock::now() + settings_.retry_interval;
        last = c.error();
        any_temporary = any_temporary || last.temporary;
        messages += (messages.empty() ? "" : "; ") + last.message;
    }
    if (order.size() > 1) {
        last.message = "no database host reachable: " + messages;
        last.temporary = any_temporary;
    }
    return last;
}

void pool::give_back(std::unique_ptr<connection> conn, size_t host, uint64_t generation) {
    if (!conn->broken() && conn->in_transaction() && !conn->rollback()) {
        conn->mark_broken();  // never hand on a session in an unknown transaction state
    }
    std::unique_ptr<connection> closing;
    {
        std::lock_guard lock(mutex_);
        if (conn->broken()) {
            host_state& hs = host_states_[host];
            if (hs.generation == generation) {
                ++hs.generation;  // the other connections of that generation are suspect too
            }
            const unsigned code = conn->broken_code();
            if (is_temporary(code) && code != local_error::connection_broken) {
                hs.down_until = clock::now() + settings_.retry_interval;
            }
            --open_;
            closing = std::move(conn);
        } else {
            idle_connection c{std::move(conn), host, generation};
            if (usable_locked(c)) {
                idle_.push_back(std::move(c));
            } else {
                --open_;
                closing = std::move(c.conn);
            }
        }
    }
    freed_.notify_one();
}

void pool::forget_one() {
    {
        std::lock_guard lock(mutex_);
        --open_;
    }
    freed_.notify_one();
}

size_t pool::preferred_host_locked() const {
    const auto now = clock::now();
    for (size_t i = 0; i < host_states_.size(); ++i) {
        if (host_states_[i].down_until <= now) {
            return i;
        }
    }
    return host_states_.size();
}

bool pool::usable_locked(const idle_connection& c) const {
    return c.generation == host_states_[c.host].generation && c.host <= preferred_host_locked();
}

pool::stats pool::current_stats() const {
    std::lock_guard lock(mutex_);
    return stats{open_, static_cast<unsigned>(idle_.size()), waiting_};
}

bool pool::host_down(size_t index) const {
    std::lock_guard lock(mutex_);
    return index < host_states_.size() && host_states_[index].down_until > clock::now();
}

std::chrono::milliseconds deadlock_backoff() {
    thread_local std::minstd_rand jitter(std::random_device{}());
    return std::chrono::milliseconds(1 + jitter() % 10);
}

}  // namespace vhostmail::db
