// SPDX-License-Identifier: Apache-2.0
// privileges.hh - dropping root for good after the listeners are bound.
#pragma once

#include <string>
#include <string_view>

namespace vhostmail::os {

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
