// SPDX-License-Identifier: Apache-2.0
// metrics_sample - prints an exposition with every kind of family and escaped values, for the
// metrics_promtool test (Prometheus's own linter reads what we render).
#include <cstdio>

#include "lib/metrics/registry.hh"

int main() {
    using namespace vhostmail::metrics;
    registry r;
    auto& lookups = r.counters("vhostmail_lookups_total", "Lookups answered, by map and result.",
                               {"map", "result"});
    lookups.with({"aliases", "found"}).add(3);
    lookups.with({"odd \"value\"\\\n", "temporary"}).add();
    r.gauges("vhostmail_db_connections_in_use", "Database connections in use.").with().set(2);
    auto& latency = r.histograms("vhostmail_lookup_duration_seconds",
                                 "Time to answer a lookup.\nBy map.", {"map"});
    latency.with({"aliases"}).observe(0.0004);
    latency.with({"aliases"}).observe(3);
    r.histograms("vhostmail_message_size_bytes", "Sizes of delivered messages.", {},
                 {1024, 65536, 1048576})
        .with()
        .observe(2000);
    r.computed("vhostmail_routing_snapshot_age_seconds", "Age of the routing data served.",
               [] { return 0.25; });
    std::fputs(r.expose().c_str(), stdout);
    return 0;
}
