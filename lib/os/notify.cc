// SPDX-License-Identifier: Apache-2.0
#include "lib/os/notify.hh"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

#include "lib/core/unique_fd.hh"

namespace vhostmail::os {

bool notify_service_manager(std::string_view state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (path == nullptr || path[0] == '\0') {
        return true;
    }
    std::string p(path);
    if ((p[0] != '/' && p[0] != '@') || p.size() >= sizeof(sockaddr_un::sun_path)) {
        return false;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, p.data(), p.size());
    if (p[0] == '@') {
        addr.sun_path[0] = '\0';  // abstract namespace
    }
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + p.size());
    unique_fd fd(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        return false;
    }
    auto sent = sendto(fd.get(), state.data(), state.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), len);
    return sent == static_cast<ssize_t>(state.size());
}

}  // namespace vhostmail::os
