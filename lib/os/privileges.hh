// SPDX-License-Identifier: Apache-2.0
// privileges.hh - dropping root for good after the listeners are bound.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>

namespace vhostmail::os {

struct user_entry {
    uid_t uid = 0;
    gid_t gid = 0;  // the primary group
};

// The passwd entry of `name` (getpwnam_r), nullopt for an unknown user. Reentrant.
std::optional<user_entry> find_user(const std::string& name);

struct drop_result {
    bool ok = false;
    bool dropped = false;  // false when not running as root (nothing to drop)
    std::string error;
};

// As root: look up `user`, set its groups (primary + supplementary), gid and uid (real,
// effective, saved), then verify that root cannot be regained. Not root: does nothing.
// Call before any thread is started (setresuid applies to the calling thread only in the kernel;
// glibc broadcasts it, but the check is clearer single-threaded).
drop_result drop_privileges(std::string_view user);

}  // namespace vhostmail::os
