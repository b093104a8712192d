// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/snapshot_refresher.hh"

#include <optional>

#include "lib/log/log.hh"

namespace vhostmail::vhost {

namespace {

db::settings one_connection(db::settings s) {
    s.pool_size = 1;
    return s;
}

void count(metrics::counter* c) {
    if (c != nullptr) {
        c->add();
    }
}

}  // namespace

snapshot_refresher::snapshot_refresher(db::settings db, std::chrono::milliseconds interval,
                                       std::string outage_note, on_change_fn on_change,
                                       copy_kind kind, std::string image_path,
                                       metrics::registry* metrics)
    : pool_(one_connection(std::move(db))),
      interval_(interval),
      outage_note_(std::move(outage_note)),
      on_change_(std::move(on_change)),
      kind_(kind),
      image_path_(kind == copy_kind::published ? std::move(image_path) : std::string()) {
    if (metrics != nullptr) {
        auto& polls =
            metrics->counters("vhostmail_routing_refreshes_total",
                              "Polls of the routing data's change serial, by result.", {"result"});
        counts_.loaded = &polls.with({"loaded"});
        counts_.unchanged = &polls.with({"unchanged"});
        counts_.failed = &polls.with({"failed"});
        counts_.outages = &metrics
                               ->counters("vhostmail_database_outages_total",
                                          "Times the database became unreachable.")
                               .with();
        counts_.load_seconds =
            &metrics
                 ->histograms("vhostmail_routing_load_duration_seconds",
                              "Time of the polls that read changed routing data.", {},
                              {0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60})
                 .with();
    }
    thread_ = std::thread([this] { loop(); });
}

snapshot_refresher::~snapshot_refresher() {
    stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void snapshot_refresher::stop() {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
    stop_cv_.notify_all();
}

bool snapshot_refresher::wait_first_load(std::chrono::milliseconds max) {
    if (first_done_.load(std::memory_order_acquire)) {
        return true;  // every request after the first load: no lock
    }
    std::unique_lock lock(stop_mutex_);
    return first_cv_.wait_for(lock, max, [this] { return first_done_ || stopping_; });
}

void snapshot_refresher::loop() {
    // A full load reads on a second connection of its own at the same time (snapshot_loader);
    // outside the pool, which holds the one connection of the polls.
    snapshot_loader loader(image_path_, [this](const db::connection& first) {
        return db::connection::open(pool_.connection_settings(), first.host());
    });
    auto last_confirmed = snapshot_holder::clock::time_point{};
    std::string publish_error;  // said once per cause
    while (true) {
        auto started = snapshot_holder::clock::now();
        refresh_stats stats;
        auto result =
            pool_.run([&](db::connection& conn) -> db::outcome<std::shared_ptr<const snapshot>> {
                if (kind_ == copy_kind::none) {
                    // The callback reads the serials itself; without one, they prove the
                    // database reachable.
                    if (on_change_) {
                        if (auto extra = on_change_(conn); !extra) {
                            return extra.error();
                        }
                    } else if (auto serials = read_serials(conn); !serials) {
                        return serials.error();
                    }
                    return std::shared_ptr<const snapshot>();
                }
                auto r = loader.refresh(conn, stats);
                if (r && on_change_) {
                    if (auto extra = on_change_(conn); !extra) {
                        return extra.error();
                    }
                }
                return r;
            });
        if (result) {
            if (db_down_.exchange(false)) {
                log::info("database available again: routing data is current");
            }
            count(stats.changed ? counts_.loaded : counts_.unchanged);
            if (stats.changed) {
                auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
                    snapshot_holder::clock::now() - started);
                if (counts_.load_seconds != nullptr) {
                    counts_.load_seconds->observe(std::chrono::duration<double>(took).count());
                }
                if (!stats.one_connection_why.empty()) {
                    log::info("routing data: full load on one connection: {}",
                              stats.one_connection_why);
                }
                log::info(
                    "routing data loaded: serial={} domains={} reloaded={}{} rows={}"
                    " connections={} image={}KiB in {}ms",
                    (*result)->serial(), (*result)->domain_count(), stats.domains_read,
                    stats.full ? " (full)" : "", stats.rows_read, stats.connections,
                    (*result)->live_bytes() / 1024, took.count());
            }
            if (loader.publish_error() != publish_error) {
                publish_error = loader.publish_error();
                if (publish_error.empty()) {
                    log::info("routing image published: {}", image_path_);
                } else {
                    log::error(
                        "cannot publish the routing image, the other daemons cannot map"
                        " it: {}",
                        publish_error);
                }
            }
            if (*result) {
                holder_.confirm(*result, started);
                loader.confirm(started, false);
                last_confirmed = started;
            }
        } else {
            loader.confirm(last_confirmed, true);
            count(counts_.failed);
            if (!db_down_.exchange(true)) {
                count(counts_.outages);
                log::warning("database unavailable, {}: {}", outage_note_, result.error().message);
            }
        }
        std::unique_lock lock(stop_mutex_);
        if (!first_done_.load(std::memory_order_relaxed)) {
            first_done_.store(true, std::memory_order_release);
            first_cv_.notify_all();
        }
        if (stop_cv_.wait_until(lock, started + interval_.load(), [this] { return stopping_; })) {
            return;
        }
    }
}

}  // namespace vhostmail::vhost
