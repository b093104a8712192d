// SPDX-License-Identifier: Apache-2.0
#include "lib/os/privileges.hh"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace vhostmail::os {

drop_result drop_privileges(std::string_view user) {
    drop_result r;
    if (geteuid() != 0) {
        r.ok = true;
        return r;
    }
    std::string name(user);
    std::vector<char> buf(16384);

    struct passwd pw {};
    struct passwd* found = nullptr;
    if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
        r.error = "unknown user \"" + name + "\"";
        return r;
    }
    if (pw.pw_uid == 0) {
        r.error = "refusing to run as root (user \"" + name + "\" has uid 0)";
        return r;
    }
    if (initgroups(name.c_str(), pw.pw_gid) != 0) {
        r.error = std::string("initgroups: ") + std::strerror(errno);
        return r;
    }
    if (setresgid(pw.pw_gid, pw.pw_gid, pw.pw_gid) != 0) {
        r.error = std::string("setresgid: ") + std::strerror(errno);
        return r;
    }
    if (setresuid(pw.pw_uid, pw.pw_uid, pw.pw_uid) != 0) {
        r.error = std::string("setresuid: ") + std::strerror(errno);
        return r;
    }
    if (setuid(0) == 0 || geteuid() == 0) {
        r.error = "could regain root after dropping privileges";
        return r;
    }
    r.ok = true;
    r.dropped = true;
    return r;
}

}  // namespace vhostmail::os
