// SPDX-License-Identifier: Apache-2.0
// file_writer.hh - how the admin tool writes the files it owns (setup's state and credentials,
// DKIM keys): whole or not at all.
#pragma once

#include <filesystem>
#include <string>
#include <sys/types.h>

namespace vhostmail::admin {

// Writes `text` to a temporary file beside `p` with `mode`, owned by uid:gid, syncs it and
// renames it over `p` (the directory is made when missing). false with `error` set on failure.
bool write_file(const std::filesystem::path& p, const std::string& text, mode_t mode, uid_t uid,
                gid_t gid, std::string& error);

}  // namespace vhostmail::admin
