// SPDX-License-Identifier: Apache-2.0
#include "lib/net/connection.hh"

#include <chrono>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "lib/net/request_loop.hh"
#include "lib/proto/parsed.hh"

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

namespace {

// A toy line protocol for the request loop: "x" is a request, "bad" a recoverable error,
// "BAD" a fatal one, "quit" asks to close without a reply.
proto::parsed<std::string> parse_line(std::string_view buf) {
    auto lf = buf.find('\n');
    if (lf == std::string_view::npos) {
        return {};
    }
    std::string line(buf.substr(0, lf));
    if (line == "bad" || line == "BAD") {
        return proto::parsed<std::string>::failure(line, lf + 1, line == "BAD");
    }
    return proto::parsed<std::string>::ok(line, lf + 1);
}

std::optional<std::string> answer_line(const proto::parsed<std::string>& p) {
    if (p.what == proto::parsed<std::string>::kind::error) {
        return "error " + p.error + "\n";
    }
    if (p.request == "quit") {
        return std::nullopt;
    }
    return "ok " + p.request + "\n";
}

std::string everything_from(int fd) {
    std::string out;
    char b[256];
    ssize_t n;
    while ((n = ::read(fd, b, sizeof b)) > 0) {
        out.append(b, static_cast<size_t>(n));
    }
    return out;
}

}  // namespace

TEST_CASE("request loop: pipelined requests, errors, a fatal error ends it") {
    socket_pair p;
    p.send("a\nb");
    std::thread writer([&] {
        std::this_thread::sleep_for(20ms);
        p.send("\nbad\nc\nBAD\nnever\n");
    });
    {
        net::connection conn(unique_fd(p.ours), -1, "test");
        net::serve_requests(conn, {.idle_timeout = 2s, .request_timeout = 2s}, parse_line,
                            answer_line);
    }
    writer.join();
    CHECK(everything_from(p.theirs) == "ok a\nok b\nerror bad\nok c\nerror BAD\n");
}

TEST_CASE("request loop: nullopt closes without a reply; one_request stops after one") {
    socket_pair p;
    p.send("x\nquit\ny\n");
    {
        net::connection conn(unique_fd(p.ours), -1, "test");
        net::serve_requests(conn, {.idle_timeout = 2s, .request_timeout = 2s}, parse_line,
                            answer_line);
    }
    CHECK(everything_from(p.theirs) == "ok x\n");
    socket_pair q;
    q.send("x\ny\n");
    {
        net::connection conn(unique_fd(q.ours), -1, "test");
        net::serve_requests(conn, {.idle_timeout = 2s, .request_timeout = 2s, .one_request = true},
                            parse_line, answer_line);
    }
    CHECK(everything_from(q.theirs) == "ok x\n");
}

TEST_CASE("request loop: an incomplete request runs into its deadline") {
    socket_pair p;
    p.send("half a request");
    auto started = std::chrono::steady_clock::now();
    {
        net::connection conn(unique_fd(p.ours), -1, "test");
        net::serve_requests(conn, {.idle_timeout = 5s, .request_timeout = 200ms}, parse_line,
                            answer_line);
    }
    CHECK(std::chrono::steady_clock::now() - started < 3s);
    CHECK(everything_from(p.theirs).empty());
}
