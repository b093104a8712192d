// SPDX-License-Identifier: Apache-2.0
// mailbox_path.hh - validation of the Maildir paths the database names, and opening them
// beneath the mail base without ever following a symbolic link.
// A path is relative ("blobber.org/xandros/"), made of components that are not "", "." or
// "..", and contains no NUL or control bytes; at most 1024 bytes and 32 components.
// Opening walks one component at a time with openat(O_DIRECTORY|O_NOFOLLOW), so neither a
// symlink planted inside the mail base nor a ".." can lead outside it (no TOCTOU on a path).
// Thread safety: reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/core/unique_fd.hh"

namespace vhostmail::store {

inline constexpr size_t max_mailbox_path = 1024;
inline constexpr size_t max_mailbox_components = 32;

struct path_check {
    std::vector<std::string> components;  // when error is empty
    std::string error;                    // why the path is refused
    bool ok() const { return error.empty(); }
};

// Pure: splits and validates a relative mailbox path (see above). Repeated '/' are allowed.
path_check check_mailbox_path(std::string_view path);

struct open_result {
    unique_fd fd;  // the directory, O_RDONLY|O_DIRECTORY
    int error = 0; // errno of the failing step (ELOOP/ENOTDIR for a symlink or file in the way)
    std::string what;
};

// Opens `components` beneath the directory `base_fd`; with `create`, missing directories are
// made with `mode` (0700). Never follows symlinks.
open_result open_beneath(int base_fd, const std::vector<std::string>& components, bool create,
                         unsigned mode = 0700);

}  // namespace vhostmail::store
