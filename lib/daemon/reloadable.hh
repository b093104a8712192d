// SPDX-License-Identifier: Apache-2.0
// reloadable.hh - settings that SIGHUP replaces while connection threads read them. A reader
// takes the current value (shared, immutable) and keeps it for its request or connection, so a
// reload never changes settings under a request half-way through; the next one sees the new.
// Thread safety: get() and set() may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace vhostmail {

template <typename T>
class reloadable {
public:
    explicit reloadable(T value) : value_(std::make_shared<const T>(std::move(value))) {}

    std::shared_ptr<const T> get() const {
        std::lock_guard lock(mutex_);
        return value_;
    }

    void set(T value) {
        auto next = std::make_shared<const T>(std::move(value));
        std::lock_guard lock(mutex_);
        value_ = std::move(next);
    }

private:
    mutable std::mutex mutex_;
    std::shared_ptr<const T> value_;
};

}  // namespace vhostmail
