// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/routing_source.hh"

#include "lib/vhost/sql_directory.hh"

namespace vhostmail::vhost {

routing_source::routing_source(std::optional<copy_settings> copy, db::pool* database)
    : database_(database) {
    if (copy) {
        refresher_ = std::make_unique<snapshot_refresher>(
            std::move(copy->db), copy->refresh_interval, std::move(copy->outage_note),
            std::move(copy->on_change));
    }
}

std::shared_ptr<const snapshot> routing_source::current_copy(const freshness& f) const {
    if (!refresher_) {
        return nullptr;
    }
    refresher_->wait_first_load(f.first_load_wait);
    auto bound = f.max_staleness;
    if (refresher_->db_down() && f.outage_grace > bound) {
        bound = f.outage_grace;
    }
    return refresher_->fresh(bound);
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
