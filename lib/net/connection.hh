// SPDX-License-Identifier: Apache-2.0
// connection.hh - one accepted client: blocking reads and writes under poll(2) deadlines, woken
// early when the server stops, so an idle client never delays a shutdown.
// Thread safety: a connection belongs to the one thread that serves it.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "lib/core/unique_fd.hh"

namespace vhostmail::net {

enum class io_status { ok, eof, timeout, stopping, error };

class connection {
public:
    // `stop_fd` becomes readable when the server is stopping (-1: never).
    connection(unique_fd fd, int stop_fd, std::string peer)
        : fd_(std::move(fd)), stop_fd_(stop_fd), peer_(std::move(peer)) {}

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
};

}  // namespace vhostmail::net
