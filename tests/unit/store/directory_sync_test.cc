// SPDX-License-Identifier: Apache-2.0
#include "lib/store/directory_sync.hh"

#include <errno.h>
#include <fcntl.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/unit/store/temp_dir.hh"

using namespace vhostmail;
using namespace vhostmail::store;

namespace {

// A fake fsync that blocks until released, so the tests decide who overlaps whom.
struct gated_sync {
    std::mutex m;
    std::condition_variable cv;
    int started = 0;
    int released = 0;
    int result = 0;

    int operator()(int) {
        std::unique_lock l(m);
        const int me = ++started;
        cv.notify_all();
        cv.wait(l, [&] { return released >= me; });
        return result;
    }
    void wait_started(int n) {
        std::unique_lock l(m);
        cv.wait(l, [&] { return started >= n; });
    }
    void release_one() {
        std::lock_guard l(m);
        ++released;
        cv.notify_all();
    }
    int count() {
        std::lock_guard l(m);
        return started;
    }
};

}  // namespace

TEST_CASE("directory_syncer: a lone caller gets its own fsync and its result") {
    test::temp_dir dir;
    auto fd = dir.open();
    int calls = 0;
    directory_syncer ok([&](int) { return ++calls, 0; });
    CHECK(ok.sync(fd.get()) == 0);
    CHECK(ok.sync(fd.get()) == 0);
    CHECK(calls == 2);
    directory_syncer failing([](int) { return EIO; });
    CHECK(failing.sync(fd.get()) == EIO);
    CHECK(directory_syncer().sync(fd.get()) == 0);  // the real fsync
    CHECK(directory_syncer().sync(-1) == EBADF);
}

TEST_CASE("directory_syncer: callers during a running fsync share the next one, never the running one") {
    test::temp_dir dir;
    auto fd = dir.open();
    auto other_fd = dir.open();  // same directory through another descriptor
    gated_sync gate;
    directory_syncer syncer([&](int f) { return gate(f); });
    std::atomic<int> finished{0};
    std::thread first([&] { CHECK(syncer.sync(fd.get()) == 0); ++finished; });
    gate.wait_started(1);
    // Linked while fsync #1 runs: #1 may not cover them, so they wait for #2.
    std::vector<std::thread> later;
    for (int i = 0; i < 5; ++i) {
        later.emplace_back([&, i] {
            CHECK(syncer.sync(i % 2 ? fd.get() : other_fd.get()) == 0);
            ++finished;
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(finished == 0);
    gate.release_one();
    first.join();
    CHECK(finished == 1);
    gate.wait_started(2);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(finished == 1);  // still waiting for their own round
    gate.release_one();
    for (auto& t : later) {
        t.join();
    }
    CHECK(finished == 6);
    CHECK(gate.count() == 2);  // six callers, two fsyncs
}

TEST_CASE("directory_syncer: a failed fsync fails every caller of its round only") {
    test::temp_dir dir;
    auto fd = dir.open();
    gated_sync gate;
    directory_syncer syncer([&](int f) { return gate(f); });
    std::thread first([&] { CHECK(syncer.sync(fd.get()) == 0); });
    gate.wait_started(1);
    std::vector<std::thread> later;
    std::atomic<int> failed{0};
    for (int i = 0; i < 3; ++i) {
        later.emplace_back([&] { failed += syncer.sync(fd.get()) == EIO; });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    gate.release_one();
    first.join();
    gate.wait_started(2);
    {
        std::lock_guard l(gate.m);
        gate.result = EIO;
    }
    gate.release_one();
    for (auto& t : later) {
        t.join();
    }
    CHECK(failed == 3);
}

TEST_CASE("directory_syncer: different directories do not wait for each other") {
    test::temp_dir a, b;
    auto fa = a.open(), fb = b.open();
    gated_sync gate;
    directory_syncer syncer([&](int f) { return gate(f); });
    std::thread ta([&] { CHECK(syncer.sync(fa.get()) == 0); });
    std::thread tb([&] { CHECK(syncer.sync(fb.get()) == 0); });
    gate.wait_started(2);  // both running at once
    gate.release_one();
    gate.release_one();
    ta.join();
    tb.join();
}
