// SPDX-License-Identifier: Apache-2.0
// metrics_endpoint.hh - <daemon>_metrics_listen: the daemon's metrics in Prometheus's text
// format (docs/metrics.md), on a listener of its own with its own small server, so a scrape
// never waits behind mail traffic and mail traffic never waits behind a scrape.
//
// HTTP: one request per connection (the response closes it), GET or HEAD of /metrics (any
// query ignored): 200; another path: 404; another method: 405; a request that does not parse
// (lib/proto/http_request.hh): 400 or 431. The whole request must arrive, and the response
// leave, within scrape_timeout. At most max_scrapers connections at once.
// Also made here, for every daemon: vhostmail_build_info, process_start_time_seconds,
// process_resident_memory_bytes, process_open_fds, process_threads, and
// vhostmail_db_errors_total{class} (every error lib/db makes, db::error_class).
// Thread safety: start() once, from the main thread; stop() from the signal-handling thread.
#pragma once

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "lib/db/pool.hh"
#include "lib/metrics/registry.hh"
#include "lib/net/connection.hh"
#include "lib/net/listener.hh"
#include "lib/net/server.hh"

namespace vhostmail {

class metrics_endpoint {
public:
    static constexpr size_t max_scrapers = 4;
    static constexpr std::chrono::milliseconds scrape_timeout{5000};

    // Registers the process metrics in `r` (which must outlive this object).
    metrics_endpoint(metrics::registry& r, std::string daemon_name);
    ~metrics_endpoint();
    metrics_endpoint(const metrics_endpoint&) = delete;
    metrics_endpoint& operator=(const metrics_endpoint&) = delete;

    // Binds `endpoint` ("" binds nothing), before the privilege drop; false (logged) when it
    // cannot be opened.
    bool open(const std::string& endpoint, const net::unix_socket_options& unix_options);
    // Serves on a thread of its own, until stop().
    void start();
    void stop();

private:
    metrics::registry& registry_;
    std::array<metrics::counter*, std::size(db::error_classes)> db_errors_{};
    std::vector<net::listener> listeners_;
    std::unique_ptr<net::server> server_;
    std::thread thread_;
};

// The gauges of a daemon's database pool: vhostmail_db_pool_connections (open),
// vhostmail_db_pool_idle_connections and vhostmail_db_pool_waiting (`p` must outlive scrapes).
void expose_pool(metrics::registry& r, const db::pool& p);

// Answers one HTTP request on `conn` with `r`'s text (exposed for the tests).
void serve_metrics_request(net::connection& conn, const metrics::registry& r);

}  // namespace vhostmail
