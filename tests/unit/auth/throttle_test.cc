// SPDX-License-Identifier: Apache-2.0
#include "lib/auth/throttle.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::auth;
using namespace std::chrono_literals;

TEST_CASE("throttle: free failures, doubling delay, cap, refusal") {
    throttle_limits l;  // free 3, base 250ms, max 3s, block at 30

    struct row {
        uint64_t n;
        std::chrono::milliseconds delay;
        bool refuse;
    };

    const row rows[] = {{0, 0ms, false},        {3, 0ms, false},     {4, 250ms, false},
                        {5, 500ms, false},      {6, 1000ms, false},  {7, 2000ms, false},
                        {8, 3000ms, false},     {29, 3000ms, false}, {30, 3000ms, true},
                        {1000000, 3000ms, true}};
    for (const auto& r : rows) {
        CAPTURE(r.n);
        auto d = decide({.client_failures = r.n}, l);
        CHECK(d.delay == r.delay);
        CHECK(d.refuse == r.refuse);
        auto by_login = decide({.login_failures = r.n}, l);
        CHECK(by_login.delay == r.delay);
        CHECK(by_login.refuse == r.refuse);
    }
}

TEST_CASE("throttle: a trusted client ignores the login's failures, not its own") {
    throttle_limits l;
    CHECK(counted_failures({.client_failures = 2, .login_failures = 50, .trusted = false}) == 50);
    CHECK(counted_failures({.client_failures = 2, .login_failures = 50, .trusted = true}) == 2);
    CHECK_FALSE(decide({.client_failures = 0, .login_failures = 50, .trusted = true}, l).refuse);
    CHECK(decide({.client_failures = 40, .login_failures = 50, .trusted = true}, l).refuse);
}

TEST_CASE("throttle: disabled, and delays stay under Postfix's 10 s") {
    throttle_limits l;
    l.enabled = false;
    auto d = decide({.client_failures = 1000}, l);
    CHECK(d.delay == 0ms);
    CHECK_FALSE(d.refuse);
    l.enabled = true;
    l.base_delay = 8000ms;
    l.max_delay = 8000ms;
    l.free_failures = 0;
    CHECK(decide({.client_failures = 64}, l).delay == 8000ms);  // no overflow on big counts
}
