// SPDX-License-Identifier: Apache-2.0
// policyd_service.hh - vhostmail-policyd's running state: the routing snapshot (kept current
// like lookupd's, plus the send limits the same triggers version), the shared state store, the
// engine, and the per-connection request loop.
// A request is checked with its profile's checks: the policy_context attribute when it names a
// profile (check_policy_service { ..., policy_context=submission }), else the listener's.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>

#include "lib/config/config.hh"
#include "lib/daemon/daemon.hh"
#include "lib/daemon/reloadable.hh"
#include "lib/db/pool.hh"
#include "lib/metrics/requests.hh"
#include "lib/vhost/routing_source.hh"

#include "daemons/policyd/policy_engine.hh"
#include "daemons/policyd/policy_store.hh"

namespace vhostmail::policyd {

class policyd_service final : public service {
public:
    policyd_service(std::shared_ptr<const config::config> cfg, metrics::registry& metrics);
    ~policyd_service() override;

    void handle(net::connection& conn, const net::listener& where) override;
    void reload(std::shared_ptr<const config::config> cfg) override;
    void stop() override;

private:
    struct settings {
        std::chrono::milliseconds idle_timeout, request_timeout;
        size_t max_request = 0;
        unsigned mx_checks = 0, submission_checks = 0;
    };

    static settings read_settings(const config::config& cfg);
    // Counts one answer (null: a malformed request).
    void count(const decision* d, std::chrono::steady_clock::time_point started);
    // The rate counter and greylisting flushes, and the statements of the store.
    void expose_store(metrics::registry& metrics);

    // Results of a request: the action, or "fault" when a check could not decide.
    enum result { dunno, reject, defer, reply, fault, result_count };

    static constexpr size_t kinds = 6;  // each check, then "none" (no check objected)

    reloadable<settings> settings_;
    db::pool pool_;  // requests and the state flush
    policy_store store_;
    vhost::routing_source routing_;
    policy_engine engine_;
    std::atomic<uint64_t> requests_{0};
    metrics::request_meter meter_;
    std::array<std::array<std::optional<metrics::request_series>, result_count>, kinds> series_;
    std::optional<metrics::request_series> malformed_;
};

}  // namespace vhostmail::policyd
