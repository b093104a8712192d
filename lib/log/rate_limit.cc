// SPDX-License-Identifier: Apache-2.0
#include "lib/log/rate_limit.hh"

#include <utility>

namespace vhostmail::log {

namespace {

clock_fn or_steady(clock_fn now) {
    if (now) {
        return now;
    }
    return [] { return std::chrono::steady_clock::now(); };
}

}  // namespace

once_per::once_per(std::chrono::milliseconds interval, clock_fn now)
    : interval_(interval), now_(or_steady(std::move(now))) {}

bool once_per::ready() {
    auto t = now_();
    std::lock_guard lock(mu_);
    if (last_ && t - *last_ < interval_) {
        return false;
    }
    last_ = t;
    return true;
}

once_per_key::once_per_key(std::chrono::milliseconds interval, size_t max_keys, clock_fn now)
    : interval_(interval),
      max_keys_(max_keys == 0 ? 1 : max_keys),
      now_(or_steady(std::move(now))) {}

bool once_per_key::ready(std::string_view key) {
    auto t = now_();
    std::lock_guard lock(mu_);
    auto it = last_.find(std::string(key));
    if (it != last_.end()) {
        if (t - it->second < interval_) {
            return false;
        }
        it->second = t;
        return true;
    }
    if (last_.size() >= max_keys_) {
        std::erase_if(last_, [&](const auto& e) { return t - e.second >= interval_; });
        if (last_.size() >= max_keys_) {
            last_.clear();
        }
    }
    last_.emplace(std::string(key), t);
    return true;
}

state_change_logger::state_change_logger(std::chrono::milliseconds repeat, clock_fn now)
    : repeat_(repeat), now_(or_steady(std::move(now))) {}

bool state_change_logger::failure() {
    auto t = now_();
    std::lock_guard lock(mu_);
    if (!failing_.load(std::memory_order_relaxed)) {
        failing_.store(true, std::memory_order_release);
        last_logged_ = t;
        return true;
    }
    if (repeat_.count() > 0 && t - last_logged_ >= repeat_) {
        last_logged_ = t;
        return true;
    }
    return false;
}

bool state_change_logger::success() {
    if (!failing_.load(std::memory_order_acquire)) {
        return false;
    }
    std::lock_guard lock(mu_);
    return failing_.exchange(false, std::memory_order_acq_rel);
}

}  // namespace vhostmail::log
