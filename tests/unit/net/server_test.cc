// SPDX-License-Identifier: Apache-2.0
#include "lib/net/server.hh"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

#include <catch2/catch.hpp>

using namespace vhostmail;
using namespace std::chrono_literals;

namespace {

// A listening unix socket in a directory of its own, removed at the end.
class test_socket {
public:
    test_socket() {
        REQUIRE(mkdtemp(dir_) != nullptr);
        path_ = std::string(dir_) + "/s";
    }

    ~test_socket() { std::system(("rm -rf " + std::string(dir_)).c_str()); }

    std::vector<net::listener> listeners() {
        std::string error;
        auto where = net::parse_endpoint("unix:" + path_, error);
        REQUIRE(where);
        auto bound = net::open_listener(*where, {}, "test");
        REQUIRE(bound.value);
        std::vector<net::listener> out;
        out.push_back(std::move(*bound.value));
        return out;
    }

    // A connected client socket, -1 on failure.
    int connect() const {
        int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
        if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
            ::close(fd);
            return -1;
        }
        return fd;
    }

private:
    char dir_[32] = "/tmp/vhm-server-test-XXXXXX";
    std::string path_;
};

// What a library keeps per thread and frees when the thread exits (OpenSSL's per-thread
// state, MariaDB's mysql_thread_end): it must be gone before run() returns, since the process
// may then exit and tear the library down under a thread still freeing its state.
std::atomic<bool> thread_state_freed{false};

struct thread_state {
    bool used = false;

    ~thread_state() {
        if (used) {
            std::this_thread::sleep_for(300ms);
            thread_state_freed = true;
        }
    }
};

thread_local thread_state per_thread;

}  // namespace

TEST_CASE("server: a stop waits for every connection thread, however long past the drain",
          "[server]") {
    test_socket sock;
    std::vector<net::listener> listeners = sock.listeners();

    // A handler busy with something other than its socket (a slow database call, say): the
    // shutdown of the socket after the drain does not end it.
    std::mutex m;
    std::condition_variable cv;
    bool entered = false;
    bool released = false;
    std::atomic<bool> handler_done{false};
    std::atomic<int> warnings{0};
    net::server srv(
        std::move(listeners), 4,
        [&](net::connection&, const net::listener&) {
            std::unique_lock lock(m);
            entered = true;
            cv.notify_all();
            cv.wait(lock, [&] { return released; });
            handler_done = true;
        },
        [&](const std::string& w) {
            if (w.find("still waiting for 1 connection") != std::string::npos) {
                ++warnings;
            }
        });
    std::atomic<bool> returned{false};
    std::atomic<bool> returned_before_handler{false};
    std::thread runner([&] {
        srv.run(100ms);
        returned_before_handler = !handler_done;
        returned = true;
    });

    int client = sock.connect();
    REQUIRE(client >= 0);
    {
        std::unique_lock lock(m);
        REQUIRE(cv.wait_for(lock, 5s, [&] { return entered; }));
    }
    srv.stop();
    // Past the drain and the first 10 s of waiting: still running, and saying why.
    std::this_thread::sleep_for(10500ms);
    CHECK_FALSE(returned);
    CHECK(warnings >= 1);
    {
        std::lock_guard lock(m);
        released = true;
    }
    cv.notify_all();
    runner.join();
    CHECK(returned);
    CHECK_FALSE(returned_before_handler);
    ::close(client);
}

TEST_CASE(
    "server: a stop waits until connection threads have exited, their per-thread state "
    "freed",
    "[server]") {
    test_socket sock;
    std::atomic<bool> handled{false};
    net::server srv(
        sock.listeners(), 4,
        [&](net::connection&, const net::listener&) {
            per_thread.used = true;
            handled = true;
        },
        [](const std::string&) {});
    std::thread runner([&] { srv.run(1000ms); });
    int client = sock.connect();
    REQUIRE(client >= 0);
    for (int i = 0; i < 500 && !handled; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    REQUIRE(handled);
    srv.stop();
    runner.join();
    CHECK(thread_state_freed);
    ::close(client);
}
