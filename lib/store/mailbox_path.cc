// SPDX-License-Identifier: Apache-2.0
#include "lib/store/mailbox_path.hh"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace vhostmail::store {

path_check check_mailbox_path(std::string_view path) {
    path_check r;
    if (path.empty()) {
        r.error = "empty mailbox path";
        return r;
    }
    if (path.size() > max_mailbox_path) {
        r.error = "mailbox path too long";
        return r;
    }
    if (path.front() == '/') {
        r.error = "absolute mailbox path";
        return r;
    }
    for (unsigned char c : path) {
        if (c < 0x20 || c == 0x7f) {
            r.error = "control character in mailbox path";
            return r;
        }
    }
    size_t start = 0;
    while (start <= path.size()) {
        size_t slash = path.find('/', start);
        if (slash == std::string_view::npos) {
            slash = path.size();
        }
        std::string_view part = path.substr(start, slash - start);
        start = slash + 1;
        if (part.empty()) {
            continue;
        }
        if (part == "." || part == "..") {
            r.error = "\".\" or \"..\" in mailbox path";
            r.components.clear();
            return r;
        }
        if (part.size() > 255) {
            r.error = "mailbox path component too long";
            r.components.clear();
            return r;
        }
        r.components.emplace_back(part);
        if (r.components.size() > max_mailbox_components) {
            r.error = "mailbox path too deep";
            r.components.clear();
            return r;
        }
    }
    if (r.components.empty()) {
        r.error = "empty mailbox path";
    }
    return r;
}

open_result open_beneath(int base_fd, const std::vector<std::string>& components, bool create,
                         unsigned mode) {
    open_result r;
    int dir = base_fd;
    unique_fd current;
    const int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    for (const auto& part : components) {
        int fd = ::openat(dir, part.c_str(), flags);
        if (fd < 0 && errno == ENOENT && create) {
            if (::mkdirat(dir, part.c_str(), mode) != 0) {
                if (errno != EEXIST) {
                    r.error = errno;
                    r.what = "mkdir " + part + ": " + std::strerror(errno);
                    return r;
                }
            } else {
                ::fsync(dir);  // the new entry must survive a crash like the mail in it
            }
            fd = ::openat(dir, part.c_str(), flags);
        }
        if (fd < 0) {
            r.error = errno;
            r.what = "open " + part + ": " + std::strerror(errno);
            if (errno == ELOOP || errno == ENOTDIR) {
                r.what += " (symlink or non-directory in the mailbox path)";
            }
            return r;
        }
        current.reset(fd);
        dir = fd;
    }
    r.fd = std::move(current);
    return r;
}

}  // namespace vhostmail::store
