// SPDX-License-Identifier: Apache-2.0
// snapshot_loader.hh - reads the routing data from MariaDB into the routing image
// (routing_image.hh) and keeps it current.
//
// Change detection: triggers bump routing_serial (one row per writing server) and mark the
// domain's routing_versions row with that server and its new serial, in the same transaction
// as any routing change (sql/migrations/0001_initial.sql, 0008_routing_changes.sql). A refresh
// reads the serials (a few rows); if one moved, it reads inside one START TRANSACTION WITH
// CONSISTENT SNAPSHOT the serials again, the domains each moved server changed since the
// serial last seen of it (an index range, not every domain's version), then only those domains
// (or everything, when many changed), so the new version is one consistent state and a change
// costs work in proportion to the domains it touched. A full load streams each table once in
// primary-key order and groups the rows by domain itself (range queries per batch of domains
// cost the server an index lookup per row); it holds the encoded address records of
// everything until each domain's segment is built, then returns that memory. A
// refresh that succeeds proves the snapshot current as of the moment it started. Thread safety:
// snapshot_holder may be read by any thread; a snapshot_loader by one thread.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "lib/db/connection.hh"
#include "lib/vhost/routing_image.hh"
#include "lib/vhost/snapshot.hh"

namespace vhostmail::vhost {

// Each server's change serial (routing_serial), by name.
using node_serials = std::map<std::string, uint64_t>;

// The change serials (a few rows), and their sum: the serial of the whole data.
db::outcome<node_serials> read_serials(db::connection& conn);
uint64_t serial_sum(const node_serials& serials);

// The domains changed since the serials last seen, with their routing versions.
struct domain_changes {
    bool all = false;  // read everything: nothing seen yet, too many changed, or no 0008
    std::vector<std::pair<uint64_t, uint64_t>> domains;  // else these: (id, version), by id
};

// Finds the domains changed since the serials it last accepted, by the changing servers'
// serials (routing_versions rows with node_serial above the one seen; migration 0008): an
// index range per server whose serial moved, not every domain's version. Shared by the
// routing copy and the data daemons keep per domain beside it (policyd's send limits, the
// milter's signing data), which the same triggers version.
class change_finder {
public:
    // True when `now` is what was accepted last: nothing changed.
    bool unchanged(const node_serials& now) const { return seen_ && *seen_ == now; }

    // The changes up to `now` (serials just read); `all` beyond `limit` domains.
    db::outcome<domain_changes> since_seen(db::connection& conn, const node_serials& now,
                                           size_t limit) const;

    // The changes up to `serials` were applied.
    void accept(node_serials serials) { seen_ = std::move(serials); }

    // Forget what was seen: the next look reads everything.
    void reset() { seen_.reset(); }

private:
    std::optional<node_serials> seen_;
};

// For data kept per domain beside the routing copy: reads the serials and, when they moved
// since `finder` last accepted, calls `apply` with the changes (everything, or the domains, at
// most `limit`) inside one START TRANSACTION WITH CONSISTENT SNAPSHOT, then accepts them. An
// error from `apply` leaves them unaccepted: the next call applies them again, so `apply`
// must change nothing it keeps unless it succeeds.
using apply_changes_fn = std::function<db::outcome<void>(db::connection&, const domain_changes&)>;
db::outcome<void> follow_changes(db::connection& conn, change_finder& finder, size_t limit,
                                 const apply_changes_fn& apply);

// What such data holds of each domain (policyd's send limits, the milter's signing data): the
// names it entered the domain's rows under, so that a change to the domain can take them out.
struct domain_entries {
    std::string domain;
    std::vector<std::string> addresses;
};

using domain_entry_map = std::unordered_map<uint64_t, domain_entries>;  // by domain id

// The bookkeeping of one `apply` of such data, built aside by the caller: `read(nullopt, e)`
// adds every domain's rows (changes.all), else for each changed domain `remove` takes the
// entries it had out and `read(id, e)` adds its rows. `read` notes what it adds in `e`;
// `kept` is updated only when every read succeeded.
using read_domain_rows_fn =
    std::function<db::outcome<void>(std::optional<uint64_t> domain_id, domain_entry_map& added)>;
db::outcome<void> apply_domain_changes(const domain_changes& changes, domain_entry_map& kept,
                                       const std::function<void(const domain_entries&)>& remove,
                                       const read_domain_rows_fn& read);

struct refresh_stats {
    bool changed = false;
    bool full = false;               // everything was read (first load or many domains changed)
    size_t domains_read = 0;         // domains (re)loaded
    size_t rows_read = 0;            // rows of all tables read
    size_t connections = 0;          // database connections it read on
    std::string one_connection_why;  // a full load on one connection although two were offered
};

// Opens another connection to the server `first` is connected to.
using open_connection_fn =
    std::function<db::outcome<std::unique_ptr<db::connection>>(const db::connection& first)>;

class snapshot_loader {
public:
    // `image_path`: also publish each version in that file for other processes; "": none.
    // `open_second`: a full load reads on a second connection too, at the same time, when it
    // can have one in a snapshot of the same data (else on one); none: always on one.
    explicit snapshot_loader(std::string image_path = "", open_connection_fn open_second = {})
        : writer_(size_t{8} << 30, std::move(image_path)), open_second_(std::move(open_second)) {}

    // Brings the copy up to date. Returns the current snapshot (the same pointer when nothing
    // changed). Database errors are returned as they are (memory errors as local errors); the
    // previous snapshot stays valid.
    db::outcome<std::shared_ptr<const snapshot>> refresh(db::connection& conn,
                                                         refresh_stats& stats);

    const std::shared_ptr<const snapshot>& current() const { return current_; }

    // Stamps the published image: proven current at `at`, or the database is unreachable.
    void confirm(std::chrono::steady_clock::time_point at, bool db_down) {
        writer_.confirm(at.time_since_epoch().count(), db_down);
    }

    const std::string& publish_error() const { return writer_.publish_error(); }

private:
    db::outcome<std::shared_ptr<const snapshot>> read(db::connection& conn, refresh_stats& stats);
    // A second connection in a snapshot that holds what `serials` (read on `first`, in its
    // snapshot) say: null, with the reason in `stats`, when there is none.
    std::unique_ptr<db::connection> second_connection(const db::connection& first,
                                                      const node_serials& serials,
                                                      refresh_stats& stats) const;

    image_writer writer_;
    open_connection_fn open_second_;
    std::shared_ptr<const snapshot> current_;
    change_finder changes_;      // accepts the serials current_ was read at
    node_serials pending_seen_;  // those of a read not yet committed
};

// One full load, for one-shot users (`vhostmail check`, `vhostmail resolve`).
db::outcome<std::shared_ptr<const snapshot>> load_snapshot(db::connection& conn);

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
