// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/routing_source.hh"

#include <limits>
#include <thread>

#include "lib/config/common_params.hh"
#include "lib/vhost/sql_directory.hh"

namespace vhostmail::vhost {

routing_source::copy_settings&& routing_source::copy_settings::per_host(const config::config& cfg,
                                                                        bool publisher) && {
    image_path = cfg.get_string(config::common::routing_image_file);
    if (!image_path.empty()) {
        kind = publisher ? snapshot_refresher::copy_kind::published
                         : snapshot_refresher::copy_kind::none;
    }
    return std::move(*this);
}

routing_source::routing_source(std::optional<copy_settings> copy, db::pool* database)
    : started_(std::chrono::steady_clock::now()), database_(database) {
    if (!copy) {
        return;
    }
    using kind = snapshot_refresher::copy_kind;
    if (copy->metrics != nullptr) {
        expose(*copy->metrics);
    }
    if (copy->kind == kind::none) {
        reader_ = std::make_unique<image_reader>(copy->image_path);
        if (!copy->on_change) {
            return;  // nothing to follow: the image says how current it is
        }
    }
    refresher_ = std::make_unique<snapshot_refresher>(
        std::move(copy->db), copy->refresh_interval, std::move(copy->outage_note),
        std::move(copy->on_change), copy->kind, copy->image_path, copy->metrics);
}

routing_source::latest_copy routing_source::latest() const {
    latest_copy out;
    if (reader_) {
        auto v = reader_->current();
        out.snap = std::move(v.snap);
        out.confirmed_at = v.confirmed_at;
        out.db_down = v.db_down;
    } else if (refresher_) {
        out.snap = refresher_->latest(out.confirmed_at);
        out.db_down = refresher_->db_down();
    }
    return out;
}

void routing_source::expose(metrics::registry& r) {
    // Read when scraped; before the first load (or with no image to map) the age is +Inf.
    r.computed(
        "vhostmail_routing_age_seconds",
        "Time since the routing data in use was last proven current.", [this] {
            auto l = latest();
            if (!l.snap) {
                return std::numeric_limits<double>::infinity();
            }
            return std::chrono::duration<double>(std::chrono::steady_clock::now() - l.confirmed_at)
                .count();
        });
    r.computed("vhostmail_routing_serial", "Change serial of the routing data in use.", [this] {
        auto l = latest();
        return l.snap ? static_cast<double>(l.snap->serial()) : 0.0;
    });
    r.computed("vhostmail_routing_domains", "Hosted domains in the routing data in use.", [this] {
        auto l = latest();
        return l.snap ? static_cast<double>(l.snap->domain_count()) : 0.0;
    });
    r.computed("vhostmail_routing_image_bytes",
               "Bytes of the routing data in use (segments and index).", [this] {
                   auto l = latest();
                   return l.snap ? static_cast<double>(l.snap->live_bytes()) : 0.0;
               });
    r.computed("vhostmail_database_up",
               "1 while the database answers the routing data's polls, else 0.",
               [this] { return latest().db_down ? 0.0 : 1.0; });
}

std::shared_ptr<const snapshot> routing_source::mapped_copy(const freshness& f) const {
    auto v = reader_->current();
    // Just started (or lookupd just restarted): wait a moment for the first image, as a
    // daemon with its own copy waits for its first load.
    while (!v.snap && std::chrono::steady_clock::now() < started_ + f.first_load_wait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        v = reader_->current();
    }
    if (!v.snap || std::chrono::steady_clock::now() - v.confirmed_at > f.bound(v.db_down)) {
        return nullptr;
    }
    return v.snap;
}

std::shared_ptr<const snapshot> routing_source::current_copy(const freshness& f) const {
    if (reader_) {
        return mapped_copy(f);
    }
    if (!refresher_) {
        return nullptr;
    }
    refresher_->wait_first_load(f.first_load_wait);
    return refresher_->fresh(f.bound(refresher_->db_down()));
}

std::unique_ptr<directory> routing_source::open(const freshness& f, bool from_database) const {
    if (!from_database) {
        if (auto copy = current_copy(f)) {
            return std::make_unique<snapshot_directory>(std::move(copy));
        }
    }
    if ((f.sql_fallback || from_database) && database_ != nullptr) {
        return std::make_unique<sql_directory>(*database_);
    }
    return nullptr;
}

void routing_source::set_refresh_interval(std::chrono::milliseconds interval) {
    if (refresher_) {
        refresher_->set_interval(interval);
    }
}

void routing_source::stop() {
    if (refresher_) {
        refresher_->stop();
    }
}

}  // namespace vhostmail::vhost
