// SPDX-License-Identifier: Apache-2.0
#include "lib/os/fd_limit.hh"

#include <sys/resource.h>

#include <catch2/catch.hpp>

using vhostmail::os::ensure_fd_limit;

TEST_CASE("ensure_fd_limit: raised to what is needed, never past the hard limit", "[os]") {
    rlimit saved{};
    REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
    if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max < 300) {
        WARN("hard limit below 300: not tested");
        return;
    }
    rlimit low = saved;
    low.rlim_cur = 64;
    REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);

    auto r = ensure_fd_limit(300);
    CHECK(r.error.empty());
    CHECK(r.limit == 300);  // what is needed, not the hard limit: children inherit it
    rlimit now{};
    ::getrlimit(RLIMIT_NOFILE, &now);
    CHECK(now.rlim_cur == 300);
    CHECK(ensure_fd_limit(100).limit == 300);  // never lowered

    if (saved.rlim_max != RLIM_INFINITY) {
        auto beyond = ensure_fd_limit(saved.rlim_max + 1);
        CHECK(beyond.limit == saved.rlim_max);
        CHECK(beyond.error.find("are needed") != std::string::npos);
    }
    ::setrlimit(RLIMIT_NOFILE, &saved);
}
