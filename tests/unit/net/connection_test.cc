// SPDX-License-Identifier: Apache-2.0
#include "lib/net/connection.hh"

#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>

using namespace vhostmail;
using namespace std::chrono_literals;

namespace {

struct socket_pair {
    int ours = -1;
    int theirs = -1;
    socket_pair() {
        int fds[2];
        REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        ours = fds[0];
        theirs = fds[1];
    }
    ~socket_pair() {
        if (theirs >= 0) {
            ::close(theirs);
        }
    }
    void send(const std::string& s) const {
        REQUIRE(::write(theirs, s.data(), s.size()) == static_cast<ssize_t>(s.size()));
    }
    void hang_up() {
        ::close(theirs);
        theirs = -1;
    }
};

}  // namespace

TEST_CASE("read_bulk takes what is there, up to 64 KB a call, appending") {
    socket_pair p;
    net::connection conn(unique_fd(p.ours), -1, "test");
    std::thread writer([&] { p.send(std::string(100000, 'x')); });
    std::string buf = "head";
    size_t calls = 0;
    while (buf.size() < 4 + 100000) {
        REQUIRE(conn.read_bulk(buf, 1 << 20, 2000ms) == net::io_status::ok);
        ++calls;
    }
    writer.join();
    CHECK(buf.size() == 4 + 100000);
    CHECK(buf.compare(0, 5, "headx") == 0);
    CHECK(calls >= 2);  // never more than 64 KB at once
}

TEST_CASE("read_bulk respects max, waits for data, and reports eof and timeout") {
    socket_pair p;
    net::connection conn(unique_fd(p.ours), -1, "test");
    p.send("abcdef");
    std::string buf;
    REQUIRE(conn.read_bulk(buf, 4, 1000ms) == net::io_status::ok);
    CHECK(buf == "abcd");
    REQUIRE(conn.read_bulk(buf, 4, 1000ms) == net::io_status::ok);
    CHECK(buf == "abcdef");
    auto start = std::chrono::steady_clock::now();
    CHECK(conn.read_bulk(buf, 100, 100ms) == net::io_status::timeout);
    CHECK(std::chrono::steady_clock::now() - start >= 90ms);
    std::thread late([&] {
        std::this_thread::sleep_for(50ms);
        p.send("late");
    });
    CHECK(conn.read_bulk(buf, 100, 2000ms) == net::io_status::ok);
    late.join();
    CHECK(buf == "abcdeflate");
    p.hang_up();
    CHECK(conn.read_bulk(buf, 100, 1000ms) == net::io_status::eof);
}
