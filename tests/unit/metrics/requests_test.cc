// SPDX-License-Identifier: Apache-2.0
#include "lib/metrics/requests.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::metrics;

TEST_CASE("recent_count: the last minutes, and nothing older", "[metrics]") {
    recent_count c;
    c.add_at(100, 3);
    c.add_at(101, 4);
    c.add_at(104, 5);
    CHECK(c.last_at(104, 1) == 5);
    CHECK(c.last_at(104, 5) == 12);
    CHECK(c.last_at(105, 5) == 9);  // minute 100 has left the window
    CHECK(c.last_at(110, 5) == 0);
    // A slot's next turn starts from zero, not from what its previous minute counted.
    c.add_at(100 + recent_count::max_minutes + 1, 1);
    CHECK(c.last_at(100 + recent_count::max_minutes + 1, 1) == 1);
    CHECK(c.last_at(104, 100) == c.last_at(104, recent_count::max_minutes));
}

TEST_CASE("request_meter: counts, latency and the recent failures", "[metrics]") {
    registry r;
    request_meter m(r, "map");
    auto found = m.series("mailboxes", "found", false);
    auto temp = m.series("mailboxes", "tempfail", true);
    found.record(std::chrono::milliseconds(2));
    found.record(std::chrono::milliseconds(3));
    temp.record(std::chrono::milliseconds(1));
    auto text = r.expose();
    CHECK(text.find("vhostmail_requests_total{map=\"mailboxes\",result=\"found\"} 2\n") !=
          std::string::npos);
    CHECK(text.find("vhostmail_requests_total{map=\"mailboxes\",result=\"tempfail\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("vhostmail_request_duration_seconds_count{map=\"mailboxes\"} 3\n") !=
          std::string::npos);
    CHECK(text.find("vhostmail_request_duration_seconds_sum{map=\"mailboxes\"} 0.006\n") !=
          std::string::npos);
    CHECK(text.find("vhostmail_recent_requests 3\n") != std::string::npos);
    CHECK(text.find("vhostmail_recent_request_failures 1\n") != std::string::npos);
}

TEST_CASE("registry: a computed counter is typed counter", "[metrics]") {
    registry r;
    r.computed_counter("vhostmail_things_total", "Things.", [] { return 7.0; });
    CHECK(r.expose() ==
          "# HELP vhostmail_things_total Things.\n# TYPE vhostmail_things_total counter\n"
          "vhostmail_things_total 7\n");
    CHECK_THROWS_AS(r.computed("vhostmail_things_total", "Again.", [] { return 1.0; }),
                    std::invalid_argument);
}
