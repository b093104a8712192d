// SPDX-License-Identifier: Apache-2.0
// snapshot_loader.hh - reads the routing data from MariaDB into snapshots and keeps them current.
//
// Change detection: triggers bump routing_serial (one row per writing server) and
// routing_versions.version (per domain) in the same transaction as any routing change
// (sql/migrations/0001_initial.sql). A refresh reads SUM(serial) (a few rows); if it moved, it reads everything it needs inside one
// START TRANSACTION WITH CONSISTENT SNAPSHOT: the versions, then only the domains whose version
// changed (or everything, when many changed), so the new snapshot is one consistent state.
// A refresh that succeeds proves the snapshot current as of the moment it started.
// Thread safety: snapshot_holder may be read by any thread; refresh() by one thread at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include "lib/db/connection.hh"
#include "lib/vhost/snapshot.hh"

namespace vhostmail::vhost {

struct refresh_stats {
    bool changed = false;
    bool full = false;          // everything was read (first load or many domains changed)
    size_t domains_read = 0;    // domains (re)loaded
};

// Brings `previous` (may be null) up to date. Returns the same pointer when nothing changed.
// Database errors are returned as they are; the previous snapshot stays valid.
db::outcome<std::shared_ptr<const snapshot>> refresh_snapshot(
    db::connection& conn, const std::shared_ptr<const snapshot>& previous, refresh_stats& stats);

// The snapshot being served and the time it was last proven current.
class snapshot_holder {
public:
    using clock = std::chrono::steady_clock;

    std::shared_ptr<const snapshot> current() const {
        std::lock_guard lock(mutex_);
        return current_;
    }

    // Installs `snap` (maybe the same as before), current as of `checked_at`.
    void confirm(std::shared_ptr<const snapshot> snap, clock::time_point checked_at) {
        std::lock_guard lock(mutex_);
        current_ = std::move(snap);
        confirmed_at_ = checked_at;
    }

    // The snapshot if it was proven current within `bound`, else null (answer TEMP).
    std::shared_ptr<const snapshot> fresh(clock::duration bound) const {
        std::lock_guard lock(mutex_);
        if (!current_ || clock::now() - confirmed_at_ > bound) {
            return nullptr;
        }
        return current_;
    }

    clock::time_point confirmed_at() const {
        std::lock_guard lock(mutex_);
        return confirmed_at_;
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const snapshot> current_;
    clock::time_point confirmed_at_{};
};

}  // namespace vhostmail::vhost
