// SPDX-License-Identifier: Apache-2.0
#include "lib/os/privileges.hh"

#include <cerrno>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>
#include <vector>

namespace vhostmail::os {

std::optional<user_entry> find_user(const std::string& name) {
    std::vector<char> buf(16384);

    struct passwd pw {};
    struct passwd* found = nullptr;
    if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
        return std::nullopt;
    }
    return user_entry{pw.pw_uid, pw.pw_gid};
}

drop_result drop_privileges(std::string_view user) {
    drop_result r;
    if (geteuid() != 0) {
        r.ok = true;
        return r;
    }
    std::string name(user);
    auto pw = find_user(name);
    if (!pw) {
        r.error = "unknown user \"" + name + "\"";
        return r;
    }
    if (pw->uid == 0) {
        r.error = "refusing to run as root (user \"" + name + "\" has uid 0)";
        return r;
    }
    if (initgroups(name.c_str(), pw->gid) != 0) {
        r.error = std::string("initgroups: ") + std::strerror(errno);
        return r;
    }
    if (setresgid(pw->gid, pw->gid, pw->gid) != 0) {
        r.error = std::string("setresgid: ") + std::strerror(errno);
        return r;
    }
    if (setresuid(pw->uid, pw->uid, pw->uid) != 0) {
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
