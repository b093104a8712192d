// SPDX-License-Identifier: Apache-2.0
#include "lib/os/secret_file.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/unique_fd.hh"

namespace vhostmail::os {

namespace {

// The process's effective group or one of its supplementary groups (pipe(8) runs
// vhostmail-deliver as user=vmail, a member of the daemons' group).
bool in_own_groups(gid_t gid) {
    if (gid == ::getegid()) {
        return true;
    }
    gid_t groups[256];
    int n = ::getgroups(256, groups);
    return std::find(groups, groups + std::max(n, 0), gid) != groups + std::max(n, 0);
}

}  // namespace

secret_file_read read_secret_file(const std::string& path, size_t max_size) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
    if (!fd) {
        return {{}, path + ": " + std::strerror(errno)};
    }

    struct stat st {};

    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return {{}, path + ": not a regular file"};
    }
    if ((st.st_mode & (S_IRWXO | S_IWGRP)) != 0) {
        return {{},
                path + ": mode " + std::to_string((st.st_mode >> 6) & 7) +
                    std::to_string((st.st_mode >> 3) & 7) + std::to_string(st.st_mode & 7) +
                    " lets others read it or its group write it (want 0640 or 0600)"};
    }
    if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
        return {{},
                path + ": owned by uid " + std::to_string(st.st_uid) +
                    ", not root or this program's user"};
    }
    // A group that can read it must be ours (or root's): "root:users 0640" shares the secret
    // with every user. Root reads it whatever the group (the admin tool, a daemon's start).
    if ((st.st_mode & S_IRGRP) != 0 && st.st_gid != 0 && ::geteuid() != 0 &&
        !in_own_groups(st.st_gid)) {
        return {{},
                path + ": its group (gid " + std::to_string(st.st_gid) +
                    ") is not this program's; give it to root and the daemons' group"};
    }
    if (static_cast<size_t>(st.st_size) > max_size) {
        return {{}, path + ": larger than " + std::to_string(max_size) + " bytes"};
    }
    std::string text(static_cast<size_t>(st.st_size), '\0');
    size_t got = 0;
    while (got < text.size()) {
        ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return {{}, path + ": read failed"};
        }
        got += static_cast<size_t>(n);
    }
    return {std::move(text), {}};
}

}  // namespace vhostmail::os
