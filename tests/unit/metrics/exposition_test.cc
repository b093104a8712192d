// SPDX-License-Identifier: Apache-2.0
#include "lib/metrics/exposition.hh"

#include <cmath>

#include <catch2/catch.hpp>

#include "lib/metrics/registry.hh"

using namespace vhostmail::metrics;

TEST_CASE("exposition: what the registry writes reads back", "[metrics]") {
    registry r;
    r.counters("vhostmail_requests_total", "Requests.", {"map", "result"})
        .with({"mailboxes", "found"})
        .add(3);
    r.gauges("vhostmail_build_info", "Build.", {"daemon", "version"})
        .with({"vhostmail-lookupd", "0.1.0"})
        .set(1);
    r.computed("vhostmail_routing_age_seconds", "Age.",
               [] { return std::numeric_limits<double>::infinity(); });
    r.histograms("vhostmail_request_duration_seconds", "Latency.", {"map"}, {0.5, 1})
        .with({"odd \"one\"\n"})
        .observe(0.75);
    std::string error;
    auto s = parse_exposition(r.expose(), error);
    REQUIRE(s);
    CHECK(find_sample(*s, "vhostmail_requests_total", {{"result", "found"}}) == 3);
    CHECK(find_sample(*s, "vhostmail_requests_total", {{"result", "notfound"}}) == std::nullopt);
    CHECK(find_sample(*s, "vhostmail_build_info") == 1);
    CHECK(std::isinf(*find_sample(*s, "vhostmail_routing_age_seconds")));
    CHECK(find_sample(*s, "vhostmail_request_duration_seconds_bucket",
                      {{"map", "odd \"one\"\n"}, {"le", "1"}}) == 1);
    CHECK(find_sample(*s, "vhostmail_request_duration_seconds_bucket",
                      {{"map", "odd \"one\"\n"}, {"le", "0.5"}}) == 0);
    for (const auto& one : *s) {
        if (one.name == "vhostmail_build_info") {
            CHECK(one.label("version") == "0.1.0");
        }
    }
}

TEST_CASE("exposition: timestamps, NaN, and what is refused", "[metrics]") {
    std::string error;
    auto s = parse_exposition("a 1 1700000000000\nb NaN\nc{} -2.5e3\n", error);
    REQUIRE(s);
    CHECK(s->size() == 3);
    CHECK(std::isnan((*s)[1].value));
    CHECK((*s)[2].value == -2500);
    for (const char* bad :
         {"a\n", "a x\n", "a{b=\"c} 1\n", "a{b=c} 1\n", "a{b=\"\\x\"} 1\n", "1a 1\n", "a 0x10\n",
          "a 1 2 3\n", "a{b=\"c\"d=\"e\"} 1\n", "a 1 t\n", "a{__:b=\"x\"} 1\n"}) {
        INFO(bad);
        CHECK_FALSE(parse_exposition(bad, error));
        CHECK(error.starts_with("line 1: "));
    }
}
