// SPDX-License-Identifier: Apache-2.0
// connection.hh - one accepted client: blocking reads and writes under poll(2) deadlines, woken
// early when the server stops, so an idle client never delays a shutdown.
// Thread safety: a connection belongs to the one thread that serves it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "lib/core/unique_fd.hh"

namespace vhostmail::net {

enum class io_status { ok, eof, timeout, stopping, error };

// What the server may know of a connection when it is full: whether its thread waits for the
// next request (idle, since when), so that closing it loses nothing the client sent.
struct connection_slot {
    enum : int { busy, idle, evicted };

    std::atomic<int> state{busy};
    std::atomic<int64_t> idle_since_ms{0};  // steady clock
};

class connection {
public:
    // `stop_fd` becomes readable when the server is stopping (-1: never). `slot`: shared with
    // the server, which may evict the connection while it is idle (null: never).
    connection(unique_fd fd, int stop_fd, std::string peer,
               std::shared_ptr<connection_slot> slot = nullptr)
        : fd_(std::move(fd)), stop_fd_(stop_fd), peer_(std::move(peer)), slot_(std::move(slot)) {}

    // Reads more of a request. While `buf` is empty and no request is open this is an idle
    // wait (idle_timeout; <= 0: none), during which the server may close the connection to
    // make room for a waiting client (eof). Once a request has begun, all its reads share one
    // deadline, request_timeout after its first byte arrived: a client that trickles bytes
    // gains no time. request_done() ends the request.
    io_status read_request(std::string& buf, size_t max, std::chrono::milliseconds idle_timeout,
                           std::chrono::milliseconds request_timeout);

    void request_done() { request_deadline_.reset(); }

    // Appends at most `max` bytes to `buf`. timeout <= 0: wait forever (still woken by stop).
    io_status read_some(std::string& buf, size_t max, std::chrono::milliseconds timeout);

    // The same for a stream that is expected to keep coming (a message body): reads what is
    // already there first and waits only when nothing is. At most min(max, 64 KB) a call.
    io_status read_bulk(std::string& buf, size_t max, std::chrono::milliseconds timeout);

    // Writes all of `data` within `timeout` overall.
    io_status write_all(std::string_view data, std::chrono::milliseconds timeout);

    const std::string& peer() const { return peer_; }
    int fd() const { return fd_.get(); }

private:
    unique_fd fd_;
    int stop_fd_;
    std::string peer_;
    std::shared_ptr<connection_slot> slot_;
    std::optional<std::chrono::steady_clock::time_point> request_deadline_;
};

}  // namespace vhostmail::net
