// SPDX-License-Identifier: Apache-2.0
#include "daemons/admin/file_writer.hh"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vhostmail::admin {

bool write_file(const std::filesystem::path& p, const std::string& text, mode_t mode, uid_t uid,
                gid_t gid, std::string& error) {
    std::error_code ec;
    std::filesystem::create_directories(p.parent_path(), ec);
    std::filesystem::path tmp = p;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    bool ok = fd >= 0 && ::fchown(fd, uid, gid) == 0 && ::fchmod(fd, mode) == 0 &&
              ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
              ::fsync(fd) == 0;
    if (fd >= 0) {
        ::close(fd);
    }
    if (!ok || ::rename(tmp.c_str(), p.c_str()) != 0) {
        error = "cannot write " + p.string() + ": " + std::strerror(errno);
        ::unlink(tmp.c_str());
        return false;
    }
    return true;
}

}  // namespace vhostmail::admin
