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

TEST_CASE("server: a stop waits for every connection thread, however long past the drain",
          "[server]") {
    char dir[] = "/tmp/vhm-server-test-XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    std::string path = std::string(dir) + "/s";
    std::string error;
    auto where = net::parse_endpoint("unix:" + path, error);
    REQUIRE(where);
    auto bound = net::open_listener(*where, {}, "test");
    REQUIRE(bound.value);
    std::vector<net::listener> listeners;
    listeners.push_back(std::move(*bound.value));

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

    int client = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    REQUIRE(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
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
    std::system(("rm -rf " + std::string(dir)).c_str());
}
