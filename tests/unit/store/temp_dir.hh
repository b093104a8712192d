// SPDX-License-Identifier: Apache-2.0
// temp_dir.hh - a temporary directory removed with its contents at scope exit (tests only).
#pragma once

#include <fcntl.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "lib/core/unique_fd.hh"

namespace vhostmail::test {

class temp_dir {
public:
    temp_dir() {
        std::string t = (std::filesystem::temp_directory_path() / "vhm-store-XXXXXX").string();
        path_ = ::mkdtemp(t.data());
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::string& path() const { return path_; }
    unique_fd open() const { return unique_fd(::open(path_.c_str(), O_RDONLY | O_DIRECTORY)); }

private:
    std::string path_;
};

}  // namespace vhostmail::test
