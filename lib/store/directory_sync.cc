// SPDX-License-Identifier: Apache-2.0
#include "lib/store/directory_sync.hh"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/store/fsync_timing.hh"

namespace vhostmail::store {

directory_syncer::directory_syncer(sync_function sync) : sync_(std::move(sync)) {
    if (!sync_) {
        sync_ = [](int fd) { return timed_fsync(fd, "directory"); };
    }
}

int directory_syncer::sync(int dir_fd) {
    struct stat st {};

    if (::fstat(dir_fd, &st) != 0) {
        return errno;
    }
    const auto key = std::make_pair(st.st_dev, st.st_ino);
    std::unique_lock lock(mutex_);
    directory& dir = directories_[key];  // map nodes stay put while users > 0
    ++dir.users;
    if (!dir.next) {
        dir.next = std::make_shared<round>(round{dir_fd});
    }
    const std::shared_ptr<round> mine = dir.next;
    while (!mine->done) {
        if (dir.running) {
            dir.done.wait(lock);
            continue;
        }
        dir.running = std::move(dir.next);
        lock.unlock();
        int error = EIO;
        try {
            error = sync_(mine->fd);
        } catch (...) {  // an injected function: whatever it does, the waiters must wake
        }
        lock.lock();
        mine->error = error;
        mine->done = true;
        dir.running.reset();
        dir.done.notify_all();
    }
    const int error = mine->error;
    if (--dir.users == 0) {
        directories_.erase(key);
    }
    return error;
}

directory_syncer& shared_directory_syncer() {
    static auto* const syncer = new directory_syncer;
    return *syncer;
}

}  // namespace vhostmail::store
