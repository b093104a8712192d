// SPDX-License-Identifier: Apache-2.0
#include "lib/policy/greylist.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::policy;

TEST_CASE("greylist: networks, names and domains exempt") {
    std::string error;
    auto w = greylist_whitelist::parse({"192.0.2.0/24", "2001:db8::/32", "203.0.113.5"},
                                       {"google.com"}, {"lists.example.org"}, &error);
    REQUIRE(w);
    CHECK(w->exempt("192.0.2.200", "unknown", "a@b.c") == "client network 192.0.2.0/24");
    CHECK(w->exempt("2001:db8:ffff::1", "unknown", "a@b.c") == "client network 2001:db8::/32");
    CHECK(w->exempt("203.0.113.5", "unknown", "a@b.c") == "client network 203.0.113.5/32");
    CHECK(w->exempt("203.0.113.6", "unknown", "a@b.c").empty());
    CHECK(w->exempt("198.51.100.1", "mail-ot1.google.com", "a@b.c") == "client name google.com");
    CHECK(w->exempt("198.51.100.1", "evilgoogle.com", "a@b.c").empty());
    CHECK(w->exempt("198.51.100.1", "unknown", "x@Lists.Example.ORG") ==
          "recipient domain lists.example.org");
    CHECK(w->exempt("198.51.100.1", "unknown", "x@example.org").empty());
    CHECK(!greylist_whitelist::parse({"192.0.2.0/33"}, {}, {}, &error));
    CHECK(!greylist_whitelist::parse({"not-an-ip"}, {}, {}, &error));
    CHECK(error.find("not-an-ip") != std::string::npos);
}

TEST_CASE("greylist: verdicts from what the database knows") {
    const int64_t delay = 300, window = 2 * 86400;
    auto d = decide_greylist({.new_triplet = true}, delay, window);
    CHECK(d.verdict == greylist_verdict::defer);
    CHECK(d.wait_s == 300);
    d = decide_greylist({.age_s = 120}, delay, window);
    CHECK(d.verdict == greylist_verdict::defer);
    CHECK(d.wait_s == 180);
    CHECK(decide_greylist({.age_s = 300}, delay, window).verdict == greylist_verdict::pass);
    CHECK(decide_greylist({.age_s = 300 + window}, delay, window).verdict ==
          greylist_verdict::pass);
    d = decide_greylist({.age_s = 301 + window}, delay, window);
    CHECK(d.verdict == greylist_verdict::restart);
    CHECK(d.wait_s == 300);
    CHECK(decide_greylist({.age_s = 5, .passed = true}, delay, window).verdict ==
          greylist_verdict::pass);
}
