// SPDX-License-Identifier: Apache-2.0
// rate_limit.hh - keep repeated events from flooding the log. once_per: "warn once a minute"
// (master(8)'s "service ... has reached its process limit"). state_change_logger: log an outage
// when it starts, remind while it lasts, and log the recovery once:
//     if (db_state.failure()) { log::warning("database unavailable: {}", why); }
//     if (db_state.success()) { log::info("database available again"); }
// Both decide only whether to log; the caller logs, so format strings stay compile-checked.
// Thread safety: all member functions are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace vhostmail::log {

using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

class once_per {
public:
    // `now` defaults to std::chrono::steady_clock::now (tests inject a fake clock).
    explicit once_per(std::chrono::milliseconds interval, clock_fn now = {});

    // True the first time, then only when at least `interval` has passed since the last true.
    bool ready();

private:
    std::mutex mu_;
    std::chrono::milliseconds interval_;
    clock_fn now_;
    std::optional<std::chrono::steady_clock::time_point> last_;
};

// once_per for many subjects at once ("this alias loops", once per key per hour), in bounded
// memory: at most max_keys are remembered; when full, the expired ones are dropped, and when
// none has expired, all of them (a burst of distinct keys logs again rather than grows).
class once_per_key {
public:
    explicit once_per_key(std::chrono::milliseconds interval, size_t max_keys = 10000,
                          clock_fn now = {});

    // True the first time for `key`, then only when `interval` has passed since its last true.
    bool ready(std::string_view key);

private:
    std::mutex mu_;
    std::chrono::milliseconds interval_;
    size_t max_keys_;
    clock_fn now_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> last_;
};

class state_change_logger {
public:
    // While failing, failure() is true again every `repeat` (0 = only at the start).
    explicit state_change_logger(std::chrono::milliseconds repeat = std::chrono::minutes(5),
                                 clock_fn now = {});

    // Reports a failure. True when the caller should log it: the first failure of an outage,
    // then at most once per `repeat` while it lasts.
    bool failure();

    // Reports a success. True once per outage: on the first success after a failure.
    // Cheap when nothing is failing (one atomic load), so call it on every success.
    bool success();

    // Is an outage in progress (a failure with no success since)?
    bool failing() const { return failing_.load(std::memory_order_acquire); }

private:
    std::mutex mu_;
    std::atomic<bool> failing_{false};
    std::chrono::milliseconds repeat_;
    clock_fn now_;
    std::chrono::steady_clock::time_point last_logged_{};
};

}  // namespace vhostmail::log
