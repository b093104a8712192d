// SPDX-License-Identifier: Apache-2.0
// snapshot_refresher.hh - the thread that keeps a routing snapshot current for a daemon that
// answers from memory (lookupd, policyd): it polls the change serial every `interval`
// (refresh_snapshot reads only what changed), installs each result in a snapshot_holder, and
// logs a database outage once when it starts and once when it ends, not per poll. It polls over
// a connection of its own, so it is never queued behind a daemon's request traffic.
// Thread safety: fresh(), current(), db_down() and set_interval() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "lib/db/pool.hh"
#include "lib/metrics/registry.hh"
#include "lib/vhost/snapshot_loader.hh"

namespace vhostmail::vhost {

class snapshot_refresher {
public:
    // Called on the refresher thread after every poll, with the connection it used (inside
    // no transaction), so a daemon can follow data that the same triggers version (policyd's
    // send limits, the milter's signing data): it finds what changed itself (follow_changes),
    // so a change it failed to apply is applied at the next poll. An error it returns is
    // logged and the refresh counts as failed (the snapshot is not confirmed).
    using on_change_fn = std::function<db::outcome<void>(db::connection&)>;

    enum class copy_kind {
        own,        // keep a copy in this process
        published,  // keep one and publish it in `image_path` for the host's other daemons
        none,       // keep none (the daemon maps another's image): only watch the serial
    };

    // Starts the thread, with a one-connection pool from `db` (hosts, credentials, timeouts).
    // `outage_note` says in logs what an outage means ("lookups answer TEMP"). With `metrics`,
    // counts polls by result (vhostmail_routing_refreshes_total{result="loaded|unchanged|
    // failed"}), the time of those that loaded data (vhostmail_routing_load_duration_seconds)
    // and outages (vhostmail_database_outages_total).
    snapshot_refresher(db::settings db, std::chrono::milliseconds interval, std::string outage_note,
                       on_change_fn on_change = {}, copy_kind kind = copy_kind::own,
                       std::string image_path = "", metrics::registry* metrics = nullptr);
    ~snapshot_refresher();
    snapshot_refresher(const snapshot_refresher&) = delete;
    snapshot_refresher& operator=(const snapshot_refresher&) = delete;

    // The snapshot if it was proven current within `bound`, else null.
    std::shared_ptr<const snapshot> fresh(std::chrono::milliseconds bound) const {
        return holder_.fresh(bound);
    }

    bool db_down() const { return db_down_; }

    // The snapshot and when it was last proven current (null before the first load).
    std::shared_ptr<const snapshot> latest(snapshot_holder::clock::time_point& confirmed_at) const {
        confirmed_at = holder_.confirmed_at();
        return holder_.current();
    }

    // Waits at most `max` for the first load to end (loaded or failed); true when it has. A
    // daemon started by its first connection asks before that load is done: waiting a moment
    // answers it instead of a temporary failure.
    bool wait_first_load(std::chrono::milliseconds max);

    void set_interval(std::chrono::milliseconds interval) { interval_ = interval; }

    // Ends the thread (also done by the destructor).
    void stop();

private:
    void loop();

    db::pool pool_;
    std::atomic<std::chrono::milliseconds> interval_;
    const std::string outage_note_;
    on_change_fn on_change_;
    const copy_kind kind_;
    const std::string image_path_;
    snapshot_holder holder_;
    std::atomic<bool> db_down_{false};
    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::atomic<bool> first_done_{false};  // set under stop_mutex_
    std::condition_variable first_cv_;

    struct counters {
        metrics::counter* loaded = nullptr;
        metrics::counter* unchanged = nullptr;
        metrics::counter* failed = nullptr;
        metrics::counter* outages = nullptr;
        metrics::histogram* load_seconds = nullptr;
    } counts_;

    std::thread thread_;
};

}  // namespace vhostmail::vhost
