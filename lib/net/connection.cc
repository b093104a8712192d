// SPDX-License-Identifier: Apache-2.0
#include "lib/net/connection.hh"

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <memory>

namespace vhostmail::net {

namespace {

using clock = std::chrono::steady_clock;

// Waits for `events` on fd or for the stop signal. Returns ok, timeout, stopping or error.
io_status wait_for(int fd, short events, int stop_fd, clock::time_point deadline, bool forever) {
    while (true) {
        int ms = -1;
        if (!forever) {
            auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                              clock::now());
            if (left.count() <= 0) {
                return io_status::timeout;
            }
            ms = static_cast<int>(std::min<long long>(left.count(), 60'000));
        }
        pollfd fds[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
        int n = poll(fds, stop_fd >= 0 ? 2 : 1, ms);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return io_status::error;
        }
        if (n == 0) {
            continue;  // re-check the deadline
        }
        if (fds[0].revents != 0) {
            return io_status::ok;
        }
        if (stop_fd >= 0 && fds[1].revents != 0) {
            return io_status::stopping;
        }
    }
}

}  // namespace

io_status connection::read_request(std::string& buf, size_t max,
                                   std::chrono::milliseconds idle_timeout,
                                   std::chrono::milliseconds request_timeout) {
    if (buf.empty() && !request_deadline_) {
        if (slot_) {
            slot_->idle_since_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                       clock::now().time_since_epoch())
                                       .count();
            slot_->state = connection_slot::idle;
        }
        io_status w = wait_for(fd_.get(), POLLIN, stop_fd_, clock::now() + idle_timeout,
                               idle_timeout.count() <= 0);
        int expected = connection_slot::idle;
        if (slot_ && !slot_->state.compare_exchange_strong(expected, connection_slot::busy)) {
            return io_status::eof;  // closed by the server to make room
        }
        if (w != io_status::ok) {
            return w;
        }
    }
    if (!request_deadline_) {
        request_deadline_ = clock::now() + request_timeout;
    }
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(*request_deadline_ - clock::now());
    if (left.count() <= 0) {
        return io_status::timeout;
    }
    return read_some(buf, max, left);
}

io_status connection::read_some(std::string& buf, size_t max, std::chrono::milliseconds timeout) {
    bool forever = timeout.count() <= 0;
    auto deadline = clock::now() + timeout;
    std::array<char, 4096> chunk;
    max = std::min(max, chunk.size());
    while (true) {
        io_status w = wait_for(fd_.get(), POLLIN, stop_fd_, deadline, forever);
        if (w != io_status::ok) {
            return w;
        }
        ssize_t n = recv(fd_.get(), chunk.data(), max, 0);
        if (n > 0) {
            buf.append(chunk.data(), static_cast<size_t>(n));
            return io_status::ok;
        }
        if (n == 0) {
            return io_status::eof;
        }
        if (errno != EINTR && errno != EAGAIN) {
            return io_status::error;
        }
    }
}

io_status connection::read_bulk(std::string& buf, size_t max, std::chrono::milliseconds timeout) {
    bool forever = timeout.count() <= 0;
    auto deadline = clock::now() + timeout;
    constexpr size_t chunk_size = 65536;
    // Allocated by the threads that read bulk only: a thread_local array would sit in the TLS
    // block of every thread of every daemon.
    thread_local std::unique_ptr<char[]> chunk;
    if (!chunk) {
        chunk = std::make_unique<char[]>(chunk_size);
    }
    max = std::min(max, chunk_size);
    while (true) {
        ssize_t n = recv(fd_.get(), chunk.get(), max, MSG_DONTWAIT);
        if (n > 0) {
            buf.append(chunk.get(), static_cast<size_t>(n));
            return io_status::ok;
        }
        if (n == 0) {
            return io_status::eof;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN && errno != EWOULDBLOCK) {
            return io_status::error;
        }
        io_status w = wait_for(fd_.get(), POLLIN, stop_fd_, deadline, forever);
        if (w != io_status::ok) {
            return w;
        }
    }
}

io_status connection::write_all(std::string_view data, std::chrono::milliseconds timeout) {
    auto deadline = clock::now() + timeout;
    while (!data.empty()) {
        // Send first and wait only when the socket buffer is full: replies are small, so this
        // saves a poll(2) per request. A reply in progress is finished even while stopping:
        // that is the drain.
        ssize_t n = send(fd_.get(), data.data(), data.size(), MSG_NOSIGNAL);
        if (n >= 0) {
            data.remove_prefix(static_cast<size_t>(n));
            continue;
        }
        if (errno == EINTR) {
            continue;
        }
        if (errno != EAGAIN) {
            return io_status::error;
        }
        io_status w = wait_for(fd_.get(), POLLOUT, -1, deadline, timeout.count() <= 0);
        if (w != io_status::ok) {
            return w;
        }
    }
    return io_status::ok;
}

}  // namespace vhostmail::net
