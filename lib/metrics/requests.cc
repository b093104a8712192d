// SPDX-License-Identifier: Apache-2.0
#include "lib/metrics/requests.hh"

#include <algorithm>

namespace vhostmail::metrics {

namespace {

int64_t current_minute() {
    using namespace std::chrono;
    return duration_cast<minutes>(steady_clock::now().time_since_epoch()).count();
}

}  // namespace

void recent_count::add_at(int64_t minute, uint64_t n) {
    size_t i = static_cast<size_t>(minute % static_cast<int64_t>(slots));
    int64_t seen = minute_[i].load(std::memory_order_acquire);
    if (seen != minute && minute_[i].compare_exchange_strong(seen, minute)) {
        count_[i].store(0, std::memory_order_relaxed);  // the slot's previous turn is over
    }
    count_[i].fetch_add(n, std::memory_order_relaxed);
}

uint64_t recent_count::last_at(int64_t minute, int64_t minutes) const {
    minutes = std::clamp<int64_t>(minutes, 0, max_minutes);
    uint64_t sum = 0;
    for (int64_t m = minute - minutes + 1; m <= minute; ++m) {
        if (m < 0) {
            continue;
        }
        size_t i = static_cast<size_t>(m % static_cast<int64_t>(slots));
        if (minute_[i].load(std::memory_order_acquire) == m) {
            sum += count_[i].load(std::memory_order_relaxed);
        }
    }
    return sum;
}

void recent_count::add(uint64_t n) {
    add_at(current_minute(), n);
}

uint64_t recent_count::last(int64_t minutes) const {
    return last_at(current_minute(), minutes);
}

void request_series::record(std::chrono::steady_clock::duration took) const {
    count_->add();
    latency_->observe(std::chrono::duration<double>(took).count());
    meter_->recent_.add();
    if (failure_) {
        meter_->recent_failures_.add();
    }
}

request_meter::request_meter(registry& r, std::string kind_label)
    : requests_(r.counters("vhostmail_requests_total", "Requests answered, by kind and result.",
                           {kind_label, "result"})),
      latency_(r.histograms("vhostmail_request_duration_seconds",
                            "Time from a request to its answer.", {kind_label})) {
    r.computed("vhostmail_recent_requests", "Requests answered in the last 5 minutes.",
               [this] { return static_cast<double>(recent_.last(recent_minutes)); });
    r.computed("vhostmail_recent_request_failures",
               "Requests of the last 5 minutes answered with a temporary failure or an error.",
               [this] { return static_cast<double>(recent_failures_.last(recent_minutes)); });
}

request_series request_meter::series(const std::string& kind, const std::string& result,
                                     bool failure) {
    return request_series(*this, requests_.with({kind, result}), latency_.with({kind}), failure);
}

}  // namespace vhostmail::metrics
