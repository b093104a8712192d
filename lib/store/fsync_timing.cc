// SPDX-License-Identifier: Apache-2.0
#include "lib/store/fsync_timing.hh"

#include <cerrno>
#include <chrono>
#include <unistd.h>

namespace vhostmail::store {

namespace {

fsync_observer& observer() {
    static fsync_observer the_observer;  // written once before the delivery threads start
    return the_observer;
}

}  // namespace

void set_fsync_observer(fsync_observer o) {
    observer() = std::move(o);
}

int timed_fsync(int fd, std::string_view kind) {
    const auto& o = observer();
    auto started = std::chrono::steady_clock::now();
    int err = ::fsync(fd) == 0 ? 0 : errno;
    if (o) {
        o(kind, std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    }
    return err;
}

}  // namespace vhostmail::store
