// SPDX-License-Identifier: Apache-2.0
// lmtp_session.hh - vhostmail-lmtpd: one LMTP client connection (RFC 2033, docs/protocols.md 8)
// and the service that owns the database pool and the mail base.
// Session: 220 greeting; LHLO (PIPELINING, ENHANCEDSTATUSCODES, 8BITMIME, SMTPUTF8, SIZE);
// MAIL; RCPT resolved at once (550 5.1.1 unknown, 451 4.3.0 lookup failure); DATA -> the
// message is decoded once into memory (bounded by deliver_max_message_size) and delivered to
// each accepted recipient in order, each reply sent as soon as it is final (a domain's filter
// runs once per transaction); recipients not started within lmtpd_transaction_time_limit get
// 451 4.4.7, so Postfix never times out on a transaction that is still delivering and sends it
// again; a recipient given twice gets the first one's result without a second copy. Replies to
// pipelined commands are sent together when no further complete command is buffered. Each
// transaction routes (vhost::routing_source) through the in-memory copy when it was proven current
// within lmtpd_max_staleness (lmtpd_routing_copy, like lookupd's: no database round trip per
// recipient), else through its own sql_directory (fresh data per message), so a stale copy never
// routes mail. A recipient the copy does not know is looked up in the database before it is refused
// (and the transaction then routes from the database): a change that lookupd already served to
// Postfix is never bounced because the copy is a poll behind. Thread safety: the service is shared
// by all connection threads; a session is one thread's.
#pragma once

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "lib/config/config.hh"
#include "lib/core/unique_fd.hh"
#include "lib/daemon/daemon.hh"
#include "lib/daemon/reloadable.hh"
#include "lib/db/pool.hh"
#include "lib/metrics/requests.hh"
#include "lib/vhost/directory.hh"
#include "lib/vhost/routing_source.hh"

#include "daemons/deliver/delivery.hh"
#include "daemons/deliver/delivery_store.hh"
#include "daemons/deliver/outbox.hh"

namespace vhostmail::deliver {

struct lmtp_settings {
    delivery_settings delivery;
    std::chrono::milliseconds idle_timeout{600000};
    std::chrono::milliseconds data_timeout{600000};
    size_t max_message_size = 50u << 20;
    size_t max_recipients = 1000;
    bool routing_copy = true;
    vhost::freshness routing_freshness{
        .max_staleness = std::chrono::milliseconds(1000), .outage_grace = {}, .sql_fallback = true};
    std::chrono::milliseconds transaction_time_limit{500000};  // < lmtp_data_done_timeout
    outbox_settings outbox;
};

// The directory one transaction routes through: the in-memory copy when allowed and current,
// else (or when from_database) direct database queries.
using directory_source = std::function<std::unique_ptr<vhost::directory>(bool from_database)>;

lmtp_settings lmtp_settings_from(const config::config& cfg);

// What lmtpd counts: each recipient's delivery (request kind "recipient", results delivered,
// deferred, bounced: the class of its reply) and the bytes delivered.
class lmtp_metrics {
public:
    explicit lmtp_metrics(metrics::registry& r);

    void delivered(const delivery_result& result, size_t bytes,
                   std::chrono::steady_clock::time_point started) const;

private:
    metrics::request_meter meter_;
    metrics::request_series delivered_, deferred_, bounced_;
    metrics::counter& bytes_;
    std::array<metrics::histogram*, 2> fsync_;  // "file", "directory"
};

class lmtpd_service final : public service {
public:
    // Opens the mail base directory and the pool (no connection yet). Throws when the mail base
    // cannot be opened (the daemon must not start without it).
    lmtpd_service(std::shared_ptr<const config::config> cfg, metrics::registry& metrics);

    void handle(net::connection& conn, const net::listener& where) override;
    void reload(std::shared_ptr<const config::config> cfg) override;

private:
    reloadable<lmtp_settings> settings_;
    unique_fd base_fd_;
    db::pool pool_;
    sql_delivery_store store_;
    autoreply_outbox outbox_;
    vhost::routing_source routing_;  // keeps no copy when lmtpd_routing_copy = no
    lmtp_metrics metrics_;
};

// Serves one connection until QUIT, EOF, timeout or server stop.
void serve_lmtp(net::connection& conn, const lmtp_settings& settings, int base_fd,
                const directory_source& directories, delivery_store& store,
                const lmtp_metrics* metrics = nullptr);

}  // namespace vhostmail::deliver
