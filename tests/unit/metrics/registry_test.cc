// SPDX-License-Identifier: Apache-2.0
#include "lib/metrics/registry.hh"

#include <stdexcept>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

using namespace vhostmail::metrics;

TEST_CASE("metrics: the text exposition of each type", "[metrics]") {
    registry r;
    auto& lookups = r.counters("vhostmail_lookups_total", "Lookups answered, by map and result.",
                               {"map", "result"});
    lookups.with({"aliases", "found"}).add(3);
    lookups.with({"aliases", "temporary"}).add();
    lookups.with({"domains", "found"});  // made, never counted: 0
    r.gauges("vhostmail_db_connections", "Database connections in use.").with().set(2);
    auto& latency =
        r.histograms("vhostmail_lookup_seconds", "Time to answer a lookup.", {"map"}, {0.001, 0.1});
    latency.with({"aliases"}).observe(0.0005);
    latency.with({"aliases"}).observe(0.001);  // a bound is inclusive (le)
    latency.with({"aliases"}).observe(0.05);
    latency.with({"aliases"}).observe(7);
    r.computed("vhostmail_routing_snapshot_age_seconds", "Age of the routing data served.",
               [] { return 1.5; });
    CHECK(r.expose() ==
          "# HELP vhostmail_db_connections Database connections in use.\n"
          "# TYPE vhostmail_db_connections gauge\n"
          "vhostmail_db_connections 2\n"
          "# HELP vhostmail_lookup_seconds Time to answer a lookup.\n"
          "# TYPE vhostmail_lookup_seconds histogram\n"
          "vhostmail_lookup_seconds_bucket{map=\"aliases\",le=\"0.001\"} 2\n"
          "vhostmail_lookup_seconds_bucket{map=\"aliases\",le=\"0.1\"} 3\n"
          "vhostmail_lookup_seconds_bucket{map=\"aliases\",le=\"+Inf\"} 4\n"
          "vhostmail_lookup_seconds_sum{map=\"aliases\"} 7.0515\n"
          "vhostmail_lookup_seconds_count{map=\"aliases\"} 4\n"
          "# HELP vhostmail_lookups_total Lookups answered, by map and result.\n"
          "# TYPE vhostmail_lookups_total counter\n"
          "vhostmail_lookups_total{map=\"aliases\",result=\"found\"} 3\n"
          "vhostmail_lookups_total{map=\"aliases\",result=\"temporary\"} 1\n"
          "vhostmail_lookups_total{map=\"domains\",result=\"found\"} 0\n"
          "# HELP vhostmail_routing_snapshot_age_seconds Age of the routing data served.\n"
          "# TYPE vhostmail_routing_snapshot_age_seconds gauge\n"
          "vhostmail_routing_snapshot_age_seconds 1.5\n");
}

TEST_CASE("metrics: label values and help texts are escaped", "[metrics]") {
    registry r;
    r.counters("x_total", "a \\ b\nc \"d\"", {"v"}).with({"q\"b\\s\nn"}).add();
    CHECK(r.expose() ==
          "# HELP x_total a \\\\ b\\nc \"d\"\n"
          "# TYPE x_total counter\n"
          "x_total{v=\"q\\\"b\\\\s\\nn\"} 1\n");
    CHECK(format_number(0.1) == "0.1");
    CHECK(format_number(1e21) == "1e+21");
    CHECK(format_number(-1.0 / 0.0) == "-Inf");
    CHECK(format_number(0.0 / 0.0) == "NaN");
}

TEST_CASE("metrics: names, labels and registrations are checked", "[metrics]") {
    registry r;
    CHECK(valid_metric_name("vhostmail_a:b_1"));
    CHECK_FALSE(valid_metric_name("1abc"));
    CHECK_FALSE(valid_metric_name("a-b"));
    CHECK_FALSE(valid_metric_name(""));
    CHECK_FALSE(valid_label_name("__reserved"));
    CHECK_FALSE(valid_label_name("le"));
    CHECK_FALSE(valid_label_name("a:b"));
    CHECK_THROWS_AS(r.counters("bad-name", "x"), std::invalid_argument);
    CHECK_THROWS_AS(r.counters("ok_total", "x", {"bad-label"}), std::invalid_argument);
    CHECK_THROWS_AS(r.histograms("h", "x", {}, {1, 1}), std::invalid_argument);
    auto& a = r.counters("twice_total", "x", {"l"});
    CHECK(&r.counters("twice_total", "x", {"l"}) == &a);  // the same family again
    CHECK_THROWS_AS(r.gauges("twice_total", "x", {"l"}), std::invalid_argument);
    CHECK_THROWS_AS(r.counters("twice_total", "x", {"other"}), std::invalid_argument);
    CHECK_THROWS_AS(a.with({}), std::invalid_argument);
    CHECK_THROWS_AS(a.with({"1", "2"}), std::invalid_argument);
}

TEST_CASE("metrics: counting from many threads loses nothing", "[metrics]") {
    registry r;
    auto& c = r.counters("n_total", "x", {"t"});
    auto& h = r.histograms("h_seconds", "x", {});
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            auto& mine = c.with({t % 2 == 0 ? "even" : "odd"});
            for (int i = 0; i < 100000; ++i) {
                mine.add();
                h.with().observe(0.001);
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    CHECK(c.with({"even"}).value() == 200000);
    CHECK(c.with({"odd"}).value() == 200000);
    CHECK(h.with().read().cumulative.back() == 400000);
}
