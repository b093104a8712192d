// SPDX-License-Identifier: Apache-2.0
// secret_file.hh - reads a file that holds a secret (a DKIM private key, the SRS secrets) with
// the one rule for such files: a regular file (not through a symlink at the last step), owned by
// root or by the reading user, neither readable by others nor writable by its group (0640 or
// 0600), readable by no group but root's or the reader's own, and of a bounded size.
#pragma once

#include <cstddef>
#include <string>

namespace vhostmail::os {

struct secret_file_read {
    std::string text;   // when error is empty; the caller wipes it after use
    std::string error;  // "PATH: why", for the log and for `vhostmail check`
};

secret_file_read read_secret_file(const std::string& path, size_t max_size);

}  // namespace vhostmail::os
