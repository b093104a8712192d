// SPDX-License-Identifier: Apache-2.0
// lookupd_service.hh - vhostmail-lookupd's running state: the routing snapshot, the thread that
// keeps it current, and the per-connection loops of the two wire protocols.
//
// Freshness (vhost::routing_source): a lookup is answered only from a copy proven current within
// lookupd_max_staleness (polled every lookupd_refresh_interval), else it is a temporary failure;
// while the database is unreachable, lookupd_outage_grace (default 0) may stretch that.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <optional>

#include "lib/config/config.hh"
#include "lib/daemon/daemon.hh"
#include "lib/daemon/reloadable.hh"
#include "lib/db/pool.hh"
#include "lib/log/rate_limit.hh"
#include "lib/metrics/requests.hh"
#include "lib/vhost/lookup_maps.hh"
#include "lib/vhost/resolver.hh"
#include "lib/vhost/routing_source.hh"

namespace vhostmail::lookupd {

class lookupd_service final : public service {
public:
    lookupd_service(std::shared_ptr<const config::config> cfg, metrics::registry& metrics);
    ~lookupd_service() override;

    void handle(net::connection& conn, const net::listener& where) override;
    void reload(std::shared_ptr<const config::config> cfg) override;

private:
    struct settings {
        vhost::freshness freshness;
        std::chrono::milliseconds refresh_interval;
        std::chrono::milliseconds socketmap_idle, tcp_idle, request_timeout;
        vhost::resolve_options resolve;  // .srs points into `srs`
        // The SRS codec; null when SRS is off, or when its secrets could not be read: then
        // srs_error says why, and the srs_* maps answer temporary failures rather than leave
        // senders unrewritten or refuse valid bounces.
        std::shared_ptr<const srs::codec> srs;
        std::string srs_error;
    };

    // `previous`: the settings in force, whose SRS codec is kept when the secrets cannot be
    // read again.
    static settings read_settings(const config::config& cfg, const settings* previous);
    lookup<std::string> answer(std::string_view map, std::string_view key);
    // Counts one request of `map` (nullopt: a request that did not parse or named no map).
    void count(std::optional<vhost::map_kind> map, lookup_status result,
               std::chrono::steady_clock::time_point started);
    void serve_socketmap(net::connection& conn);
    void serve_tcp(net::connection& conn, std::string_view map);

    reloadable<settings> settings_;
    metrics::request_meter meter_;
    // Per map_kind and lookup_status, and the requests that were refused.
    std::array<std::array<std::optional<metrics::request_series>, 3>, vhost::map_kind_count>
        series_;
    std::optional<metrics::request_series> refused_;
    vhost::routing_source routing_;
    // Problems of the data, not of lookupd: said once per key per hour, not per lookup.
    log::once_per_key loops_{std::chrono::hours(1)};
    log::once_per_key too_long_for_tcp_{std::chrono::hours(1)};
};

}  // namespace vhostmail::lookupd
