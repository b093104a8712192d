// SPDX-License-Identifier: Apache-2.0
// log_test.cc - sanitizer, stderr and journald sinks (through a pipe), fatal, rate limiting.
#include "lib/log/log.hh"

#include <atomic>
#include <cerrno>
#include <fcntl.h>
#include <stdlib.h>
#include <string>
#include <sys/stat.h>
#include <sys/wait.h>
#include <syslog.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <catch2/catch.hpp>

#include "lib/core/unique_fd.hh"
#include "lib/log/rate_limit.hh"

using namespace vhostmail;
using namespace std::chrono_literals;

namespace {

// Logging to a pipe for the duration of a test; restores stderr logging afterwards.
class captured_log {
public:
    explicit captured_log(bool verbose = false, bool foreground = true) {
        int fds[2];
        REQUIRE(::pipe2(fds, O_CLOEXEC) == 0);
        read_.reset(fds[0]);
        write_.reset(fds[1]);
        REQUIRE(::fcntl(read_.get(), F_SETFL, O_NONBLOCK) == 0);
        log::init("vhostmail-test", {.foreground_stderr = foreground,
                                     .verbose = verbose,
                                     .facility = LOG_MAIL,
                                     .stderr_fd = write_.get()});
    }

    captured_log(const captured_log&) = delete;
    captured_log& operator=(const captured_log&) = delete;

    ~captured_log() {
        log::init(
            "vhostmail",
            {.foreground_stderr = true, .verbose = false, .facility = LOG_MAIL, .stderr_fd = 2});
    }

    int write_fd() const { return write_.get(); }

    // Everything logged so far.
    std::string drain() {
        std::string out;
        char buf[4096];
        ssize_t n;
        while ((n = ::read(read_.get(), buf, sizeof buf)) > 0) {
            out.append(buf, static_cast<size_t>(n));
        }
        return out;
    }

private:
    unique_fd read_;
    unique_fd write_;
};

std::string tag() {
    return "vhostmail-test[" + std::to_string(::getpid()) + "]: ";
}

}  // namespace

TEST_CASE("sanitize replaces control characters and bounds the length") {
    CHECK(log::sanitize("plain text") == "plain text");
    CHECK(log::sanitize("a\r\nb\tc\x01\x1f\x7f"
                        "d") == "a??b?c???d");
    CHECK(log::sanitize(std::string("nul\0byte", 8)) == "nul?byte");
    CHECK(log::sanitize("j\xc3\xb6rg") == "j\xc3\xb6rg");  // UTF-8 is kept
    CHECK(log::sanitize("0123456789", 10) == "0123456789");
    CHECK(log::sanitize("0123456789A", 10) == "0123456...");
    // Never split a UTF-8 character: "\xc3\xb6" straddles the cut at byte 7.
    CHECK(log::sanitize("012345\xc3\xb6"
                        "89AB",
                        10) == "012345...");
    CHECK(log::sanitize("abcdef", 2) == "..");
    CHECK(log::sanitize(std::string(5000, 'x')).size() == log::max_line_bytes);
}

TEST_CASE("stderr sink: Postfix format, severities, debug only when verbose") {
    captured_log cap;
    log::info("connect from {}", "client[192.0.2.1]");
    log::warning("{} retries", 3);
    log::error("cannot {}", "frob");
    log::debug("hidden {}", 1);
    CHECK_FALSE(log::verbose());
    log::set_verbose(true);
    CHECK(log::verbose());
    log::debug("shown {}", 2);
    log::set_verbose(false);
    log::message(log::severity::warning, "pre-formatted");
    CHECK(cap.drain() == tag() + "connect from client[192.0.2.1]\n" + tag() +
                             "warning: 3 retries\n" + tag() + "error: cannot frob\n" + tag() +
                             "shown 2\n" + tag() + "warning: pre-formatted\n");
}

TEST_CASE("stderr sink: hostile text cannot forge lines, lines are bounded") {
    captured_log cap;
    log::warning("bad key={}", "x\nvhostmail-test[1]: fatal: forged\r");
    CHECK(cap.drain() == tag() + "warning: bad key=x?vhostmail-test[1]: fatal: forged?\n");
    log::info("{}", std::string(10000, 'y'));
    auto line = cap.drain();
    CHECK(line.size() == tag().size() + log::max_line_bytes + 1);
    CHECK(line.substr(line.size() - 4) == "...\n");
}

TEST_CASE("logging preserves errno") {
    captured_log cap;
    errno = ENOENT;
    log::warning("open {}: failed", "/x");
    CHECK(errno == ENOENT);
}

TEST_CASE("journald sink: JOURNAL_STREAM matching our stderr adds <priority>") {
    struct env_guard {
        ~env_guard() { ::unsetenv("JOURNAL_STREAM"); }
    } guard;

    ::setenv("JOURNAL_STREAM", "0:0", 1);
    {
        captured_log plain(false, true);
        log::warning("not the journal");
        CHECK(plain.drain() == tag() + "warning: not the journal\n");
    }
    captured_log cap(true, true);

    struct stat st {};

    REQUIRE(::fstat(cap.write_fd(), &st) == 0);
    auto value = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
    ::setenv("JOURNAL_STREAM", value.c_str(), 1);
    log::init("vhostmail-test", {.foreground_stderr = false,
                                 .verbose = true,
                                 .facility = LOG_MAIL,
                                 .stderr_fd = cap.write_fd()});
    log::warning("w");
    log::info("i");
    log::debug("d");
    log::error("e");
    CHECK(cap.drain() == "<4>" + tag() + "warning: w\n<6>" + tag() + "i\n<6>" + tag() + "d\n<3>" +
                             tag() + "error: e\n");
}

TEST_CASE("fatal logs and exits with the given code") {
    captured_log cap;
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        log::fatal(78, "configuration error: {}", "db_pool_size");
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 78);
    CHECK(cap.drain() == "vhostmail-test[" + std::to_string(child) +
                             "]: fatal: configuration error: db_pool_size\n");
}

TEST_CASE("facility names") {
    CHECK(log::facility_from_name("mail") == LOG_MAIL);
    CHECK(log::facility_from_name("daemon") == LOG_DAEMON);
    CHECK(log::facility_from_name("local0") == LOG_LOCAL0);
    CHECK(log::facility_from_name("local7") == LOG_LOCAL7);
    CHECK_FALSE(log::facility_from_name("local8"));
    CHECK_FALSE(log::facility_from_name("MAIL"));
}

TEST_CASE("once_per: at most once per interval") {
    auto t = std::chrono::steady_clock::time_point{} + 1h;
    log::once_per limiter(60s, [&] { return t; });
    CHECK(limiter.ready());
    CHECK_FALSE(limiter.ready());
    t += 59s;
    CHECK_FALSE(limiter.ready());
    t += 1s;
    CHECK(limiter.ready());
    CHECK_FALSE(limiter.ready());
}

TEST_CASE("state_change_logger: start of outage, reminders, recovery once") {
    auto t = std::chrono::steady_clock::time_point{} + 1h;
    log::state_change_logger db(5min, [&] { return t; });
    CHECK_FALSE(db.success());  // nothing to recover from
    CHECK_FALSE(db.failing());
    CHECK(db.failure());
    CHECK(db.failing());
    CHECK_FALSE(db.failure());
    t += 4min;
    CHECK_FALSE(db.failure());
    t += 1min;
    CHECK(db.failure());  // reminder
    CHECK(db.success());
    CHECK_FALSE(db.success());
    CHECK_FALSE(db.failing());
    CHECK(db.failure());  // a new outage logs at once

    log::state_change_logger quiet(0ms, [&] { return t; });
    CHECK(quiet.failure());
    t += 24h;
    CHECK_FALSE(quiet.failure());
}

TEST_CASE("state_change_logger: concurrent failures log once") {
    log::state_change_logger db(1h);
    std::atomic<int> logged{0};
    std::atomic<int> recovered{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            for (int j = 0; j < 1000; ++j) {
                if (db.failure()) {
                    ++logged;
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    threads.clear();
    for (int i = 0; i < 8; ++i) {
        threads.emplace_back([&] {
            if (db.success()) {
                ++recovered;
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    CHECK(logged == 1);
    CHECK(recovered == 1);
}

TEST_CASE("once_per_key: once per interval for each key, in bounded memory") {
    auto t = std::chrono::steady_clock::time_point{};
    log::once_per_key limiter(1h, 3, [&] { return t; });
    CHECK(limiter.ready("a"));
    CHECK_FALSE(limiter.ready("a"));
    CHECK(limiter.ready("b"));
    t += 30min;
    CHECK_FALSE(limiter.ready("a"));
    CHECK(limiter.ready("c"));
    // Full (a, b, c), none expired: a new key makes room by forgetting all of them.
    CHECK(limiter.ready("d"));
    CHECK(limiter.ready("a"));
    t += 1h;
    CHECK(limiter.ready("d"));
}
