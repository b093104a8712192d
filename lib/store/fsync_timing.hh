// SPDX-License-Identifier: Apache-2.0
// fsync_timing.hh - how long the fsyncs of deliveries take, for a daemon that reports it
// (lmtpd's vhostmail_fsync_duration_seconds): a slow disk shows here before it shows as
// deferred mail. Every fsync of the Maildir code goes through timed_fsync.
// Thread safety: set_fsync_observer once at start, before any delivery thread runs;
// timed_fsync from any thread.
#pragma once

#include <functional>
#include <string_view>

namespace vhostmail::store {

// kind: "file" (a message, before it is linked) or "directory" (new/, once per shared round).
using fsync_observer = std::function<void(std::string_view kind, double seconds)>;

void set_fsync_observer(fsync_observer observer);

// ::fsync(fd), timed for the observer when there is one; 0 or errno.
int timed_fsync(int fd, std::string_view kind);

}  // namespace vhostmail::store
