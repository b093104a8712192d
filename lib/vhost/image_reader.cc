// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/image_reader.hh"

#include <sys/stat.h>

#include "lib/log/log.hh"
#include "lib/vhost/image_layout.hh"

namespace vhostmail::vhost {

namespace {

// How often the path is looked at again while the mapped image is missing, replaced or no
// longer confirmed: often enough for a restarted writer to be followed within the smallest
// staleness bound, rarely enough to cost nothing.
constexpr auto look_interval = std::chrono::milliseconds(100);
// An image not confirmed for this long may have been replaced without notice (its writer died).
constexpr auto unconfirmed = std::chrono::milliseconds(500);

image_reader::clock::time_point from_ns(int64_t ns) {
    return image_reader::clock::time_point(std::chrono::nanoseconds(ns));
}

}  // namespace

void image_reader::reopen_if_needed(clock::time_point now) {
    bool replaced = !file_ || (file_->state() & image_superseded) != 0 ||
                    now - from_ns(file_->confirmed_ns()) > unconfirmed;
    if (!replaced || now - last_look_ < look_interval) {
        return;
    }
    last_look_ = now;
    if (file_) {
        struct stat st {};

        if (::stat(path_.c_str(), &st) == 0 && st.st_ino == file_->inode() &&
            st.st_dev == file_->device()) {
            return;  // still the same file: its writer is merely slow or gone
        }
    }
    std::string error;
    auto opened = image_file::open_read_only(path_, error);
    if (!opened) {
        if (error != last_error_) {
            log::warning("routing image unavailable: {}", error);
            last_error_ = error;
        }
        return;
    }
    if (!last_error_.empty() || file_) {
        log::info("routing image opened: {}", path_);
    }
    last_error_.clear();
    file_ = std::move(opened);
    root_ = 0;
    snap_.reset();
}

image_reader::version image_reader::current() {
    std::lock_guard lock(mutex_);
    reopen_if_needed(clock::now());
    if (!file_) {
        return {};
    }
    uint64_t root = file_->published_root();
    if (root != root_) {
        snap_ = root == 0 ? nullptr
                          : std::make_shared<const snapshot>(file_, root, file_->published_used());
        root_ = root;
    }
    return {snap_, from_ns(file_->confirmed_ns()), (file_->state() & image_db_down) != 0};
}

}  // namespace vhostmail::vhost
