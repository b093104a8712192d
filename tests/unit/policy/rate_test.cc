// SPDX-License-Identifier: Apache-2.0
#include "lib/policy/rate.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::policy;

TEST_CASE("rate rules: the documented syntax") {
    std::string error;
    auto r =
        parse_rate_rules("30 messages/1m, 500 messages/1d 2k recipients/1h, 200m bytes/1d", &error);
    REQUIRE(r);
    REQUIRE(r->size() == 4);
    CHECK((*r)[0] == rate_rule{budget::messages, 60, 30});
    CHECK((*r)[1] == rate_rule{budget::messages, 86400, 500});
    CHECK((*r)[2] == rate_rule{budget::recipients, 3600, 2000});
    CHECK((*r)[3] == rate_rule{budget::bytes, 86400, 200ull << 20});
    CHECK(parse_rate_rules("1 message/90", &error)->front() == rate_rule{budget::messages, 90, 1});
    CHECK(parse_rate_rules("", &error)->empty());
    CHECK(describe((*r)[0]) == "30 messages per 1m");
    CHECK(describe((*r)[1]) == "500 messages per 1d");
}

TEST_CASE("rate rules: errors name the bad item") {
    std::string error;
    CHECK(!parse_rate_rules("30 messages", &error));
    CHECK(error == "\"messages\": expected UNIT/WINDOW, e.g. messages/1h");
    CHECK(!parse_rate_rules("30 messages/1m 5", &error));
    CHECK(error.find("N UNIT/WINDOW") != std::string::npos);
    CHECK(!parse_rate_rules("30 mails/1h", &error));
    CHECK(error == "\"mails\": unit must be messages, recipients or bytes");
    CHECK(!parse_rate_rules("x messages/1h", &error));
    CHECK(error.find("\"x\"") == 0);
    CHECK(!parse_rate_rules("-3 messages/1h", &error));
    CHECK(!parse_rate_rules("3 messages/0", &error));
    CHECK(!parse_rate_rules("3 messages/1500ms", &error));
    CHECK(error.find("whole seconds") != std::string::npos);
    CHECK(!parse_rate_rules("99999999999999999999g bytes/1d", &error));
}

TEST_CASE("rate: windows are aligned, the estimate slides") {
    CHECK(window_start(3661, 3600) == 3600);
    CHECK(window_start(3600, 3600) == 3600);
    CHECK(window_start(59, 60) == 0);
    // Half-way through the window, half of the previous window still counts.
    CHECK(estimated_use({10, 4}, 3600 + 1800, 3600) == Approx(9.0));
    CHECK(estimated_use({10, 4}, 3600, 3600) == Approx(14.0));
    CHECK(estimated_use({0, 7}, 3600 + 3599, 3600) == Approx(7.0));
}

TEST_CASE("rate: when more fits, and how long to wait") {
    rate_rule r{budget::messages, 60, 10};
    CHECK(seconds_until_fits({0, 9}, 120, r, 1) == 0);
    CHECK(seconds_until_fits({0, 10}, 120, r, 1) > 0);
    // Full at the window start, empty before: the next window, once 10 * (1 - t/60) <= 9,
    // i.e. 6 s into it.
    CHECK(seconds_until_fits({0, 10}, 120, r, 1) == 60 + 6);
    // The previous window decays: {20, 0} at 30 s in -> 10 used; 9 room -> at t = 33 s.
    CHECK(seconds_until_fits({20, 0}, 120 + 30, r, 1) == 3);
    // More than the whole budget never fits: wait a window (the hint says so).
    CHECK(seconds_until_fits({0, 0}, 120, r, 11) == 60);
    rate_rule bytes{budget::bytes, 86400, 1000};
    CHECK(seconds_until_fits({0, 500}, 0, bytes, 500) == 0);
    CHECK(seconds_until_fits({0, 501}, 0, bytes, 500) > 0);
}

TEST_CASE("rate: wait hints read like durations") {
    CHECK(format_wait(0) == "0s");
    CHECK(format_wait(59) == "59s");
    CHECK(format_wait(250) == "4m10s");
    CHECK(format_wait(7200) == "2h");
    CHECK(format_wait(86400 + 3 * 3600 + 5) == "1d3h");
    CHECK(format_wait(86400 + 5) == "1d");
}
