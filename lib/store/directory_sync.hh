// SPDX-License-Identifier: Apache-2.0
// directory_sync.hh - group commit of directory fsyncs.
// Every delivery must fsync new/ after linking its message there (maildir.hh). Deliveries to
// one Maildir that link while an fsync of that directory is running share the next fsync
// instead of queueing one each: on a busy mailbox one synchronous directory write then covers
// many messages. A caller returns only after an fsync that started after its call succeeded,
// so each message is as durable as with its own fsync.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace vhostmail::store {

class directory_syncer {
public:
    using sync_function = std::function<int(int fd)>;  // 0 or errno

    // `sync` is ::fsync unless a test injects its own.
    explicit directory_syncer(sync_function sync = {});

    // Returns 0 once an fsync of the directory open as `dir_fd` that started after this call
    // has succeeded; otherwise the errno of the failed fsync (or of fstat).
    int sync(int dir_fd);

private:
    struct round {
        int fd;  // a member's descriptor: every member waits until the round is done
        bool done = false;
        int error = 0;
    };
    struct directory {
        std::shared_ptr<round> running;  // an fsync in progress
        std::shared_ptr<round> next;     // joins until `running` ends, then starts
        unsigned users = 0;
        std::condition_variable done;    // only this directory's callers wake up
    };

    sync_function sync_;
    std::mutex mutex_;
    std::map<std::pair<dev_t, ino_t>, directory> directories_;
};

// The process's one syncer (all Maildir deliveries share it). Never destroyed, so no destructor
// at exit can race a thread that still uses it.
directory_syncer& shared_directory_syncer();

}  // namespace vhostmail::store
