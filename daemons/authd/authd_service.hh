// SPDX-License-Identifier: Apache-2.0
// authd_service.hh - vhostmail-authd's running state and the per-connection loops of its two
// wire protocols, around one authenticator (auth_service.hh).
//
// Temporary failures (database unreachable): neither protocol has a reply Postfix honours, so
// the connection is closed without an answer. Postfix then says "454 4.7.0 Temporary
// authentication failure" (Dovecot: connection lost; saslauthd: libsasl2 SASL_FAIL), never 535.
// The outage is logged when it starts and when it ends, not per request.
// Delays (throttling) hold only the thread of the connection that asked; hashes run at most
// authd_hash_concurrency at a time.
#pragma once

#include <array>
#include <atomic>
#include <memory>
#include <mutex>

#include "lib/config/config.hh"
#include "lib/daemon/daemon.hh"
#include "lib/daemon/reloadable.hh"
#include "lib/db/pool.hh"
#include "lib/log/rate_limit.hh"
#include "lib/metrics/requests.hh"

#include "daemons/authd/auth_service.hh"
#include "daemons/authd/sql_store.hh"

namespace vhostmail::authd {

class authd_service final : public service {
public:
    authd_service(std::shared_ptr<const config::config> cfg, metrics::registry& metrics);

    void handle(net::connection& conn, const net::listener& where) override;
    void reload(std::shared_ptr<const config::config> cfg) override;

private:
    class dovecot_session;

    struct settings {
        bool allow_cleartext = false;
        std::chrono::milliseconds idle_timeout{300000}, request_timeout{10000};
    };

    // Runs the authenticator, logs the outcome; nullopt = temporary failure (close, no reply).
    std::optional<auth_answer> authenticate(const auth_request& r, std::string_view mech);
    void serve_dovecot(net::connection& conn);
    void serve_saslauthd(net::connection& conn);

    reloadable<settings> settings_{settings{}};
    db::pool pool_;
    sql_store store_;
    authenticator auth_;
    log::state_change_logger db_state_;
    std::atomic<uint64_t> connections_{0};
    const uint64_t pid_;

    // Per mechanism (PLAIN, LOGIN, saslauthd's password check, others) and result.
    enum result { result_ok, result_failed, result_throttled, result_tempfail, result_count };

    static constexpr const char* mechanisms[] = {"PLAIN", "LOGIN", "saslauthd", "other"};
    void count(std::string_view mech, result r, std::chrono::steady_clock::time_point started);
    metrics::request_meter meter_;
    std::array<std::array<std::optional<metrics::request_series>, result_count>, 4> series_;
    metrics::counter& delays_;
};

}  // namespace vhostmail::authd
