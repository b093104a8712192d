// SPDX-License-Identifier: Apache-2.0
// routing_source.hh - where a daemon's routing answers come from, and how fresh they must be:
// the one implementation of the freshness rules that lookupd, policyd and lmtpd document.
//
// A daemon that keeps a copy (lookupd, policyd, lmtpd unless lmtpd_routing_copy = no) has a
// snapshot_refresher polling the change serial over its own connection. An answer comes from
// the copy only when the copy was proven current within `max_staleness`; while the database is
// unreachable, `outage_grace` (when longer) stretches that, so answers come from the last copy
// proven current and miss only what was committed during the outage. With no current copy the
// caller either answers "temporary failure" or, with `sql_fallback` (lmtpd), routes by direct
// queries (sql_directory: fresh data, a few queries per address). Changing the rules is a
// change of `freshness`, never of a daemon.
//
// With routing_image_file set, lookupd publishes its copy in that file and the other daemons
// map it (image_reader) instead of keeping one: the same rules apply to the time lookupd last
// proved the data current, and to its view of whether the database is reachable.
// Thread safety: all methods may be called from any thread.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "lib/config/config.hh"
#include "lib/db/pool.hh"
#include "lib/metrics/registry.hh"
#include "lib/vhost/directory.hh"
#include "lib/vhost/image_reader.hh"
#include "lib/vhost/snapshot_refresher.hh"

namespace vhostmail::vhost {

struct freshness {
    std::chrono::milliseconds max_staleness{1000};
    std::chrono::milliseconds outage_grace{0};  // 0: none
    bool sql_fallback = false;                  // no current copy: route by database queries
    // A request before the first load has ended (a daemon just started, e.g. by its socket)
    // waits for that load this long before the rules above apply.
    std::chrono::milliseconds first_load_wait{5000};

    // How old a copy may be: max_staleness, stretched to outage_grace while the database
    // cannot be reached.
    std::chrono::milliseconds bound(bool db_down) const {
        return db_down && outage_grace > max_staleness ? outage_grace : max_staleness;
    }
};

class routing_source {
public:
    struct copy_settings {
        db::settings db;                             // the refresher's own connection
        std::chrono::milliseconds refresh_interval;  // poll of the change serial
        std::string outage_note;                     // what an outage means, for the log
        snapshot_refresher::on_change_fn on_change{};
        // own: a copy of its own; published: also write it to image_path; none: map the copy
        // another daemon publishes at image_path (on_change then follows the serial).
        snapshot_refresher::copy_kind kind = snapshot_refresher::copy_kind::own;
        std::string image_path{};
        // Where the copy's metrics go (null: nowhere): the refresher's, and gauges of the
        // copy's age, serial, domains and size and of the database's reachability.
        metrics::registry* metrics = nullptr;

        // As routing_image_file asks: lookupd (`publisher`) publishes its copy, every other
        // daemon maps it; unset, each keeps its own.
        copy_settings&& per_host(const config::config& cfg, bool publisher) &&;
    };

    // `copy`: keep an in-memory copy (nullopt: none, every answer from the database).
    // `database`: the pool sql_fallback queries go through (may be null without fallback).
    routing_source(std::optional<copy_settings> copy, db::pool* database);

    // The copy when it is current under `f`, else null (no copy kept: always null).
    std::shared_ptr<const snapshot> current_copy(const freshness& f) const;

    // A directory for one request or transaction: the current copy, else (f.sql_fallback, or
    // `from_database`) the database; null when neither may answer (the caller answers TEMP).
    std::unique_ptr<directory> open(const freshness& f, bool from_database = false) const;

    void set_refresh_interval(std::chrono::milliseconds interval);
    // Ends the refresher thread (also done by the destructor).
    void stop();

private:
    std::shared_ptr<const snapshot> mapped_copy(const freshness& f) const;

    // The newest copy, whether current or not, when it was last proven current, and whether
    // the database is unreachable (for the gauges).
    struct latest_copy {
        std::shared_ptr<const snapshot> snap;
        std::chrono::steady_clock::time_point confirmed_at{};
        bool db_down = false;
    };

    latest_copy latest() const;
    void expose(metrics::registry& r);

    std::unique_ptr<snapshot_refresher> refresher_;
    std::unique_ptr<image_reader> reader_;  // the copy another daemon publishes
    std::chrono::steady_clock::time_point started_;
    db::pool* database_;
};

}  // namespace vhostmail::vhost
