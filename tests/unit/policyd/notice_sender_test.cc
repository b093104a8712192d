// SPDX-License-Identifier: Apache-2.0
#include "daemons/policyd/notice_sender.hh"

#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "tests/support/program_runner.hh"

using namespace vhostmail::policyd;

namespace {

// A sendmail that takes its time, then appends the message to a file.
struct slow_sendmail {
    std::string path;

    slow_sendmail() {
        char name[] = "/tmp/vhm-notice-test-XXXXXX";
        int fd = mkstemp(name);
        REQUIRE(fd >= 0);
        ::fchmod(fd, 0666);  // the runner runs sendmail as the daemon's user
        ::close(fd);
        path = name;
    }

    ~slow_sendmail() { ::unlink(path.c_str()); }

    notice make(std::string text) const {
        return {{"/bin/sh", "-c", "sleep 0.5; cat >> \"$0\"", path},
                {"postmaster@example.com"},
                std::move(text) + "\n",
                "joe@example.com",
                "postmaster@example.com"};
    }

    int lines() const {
        std::ifstream in(path);
        int n = 0;
        for (std::string line; std::getline(in, line);) {
            ++n;
        }
        return n;
    }
};

}  // namespace

TEST_CASE("notice sender: stopping waits for every notice accepted, and the queue is bounded") {
    if (!vhostmail::test::runner_as_root()) {
        return;
    }
    slow_sendmail sendmail;
    int accepted = 0;
    {
        notice_sender sender(2);
        // One being sent and two waiting at most: the fourth, posted at once, is refused.
        for (int i = 0; i < 4; ++i) {
            accepted += sender.post(sendmail.make("notice " + std::to_string(i))) ? 1 : 0;
        }
        CHECK(accepted >= 2);
        CHECK(accepted <= 3);
    }
    // The sender is gone only after the notices it took were sent, none abandoned half-way.
    CHECK(sendmail.lines() == accepted);
}

TEST_CASE("notice sender: without notices no thread is started, and it stops at once") {
    notice_sender sender;
}
