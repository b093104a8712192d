// SPDX-License-Identifier: Apache-2.0
#include "lib/net/client.hh"

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

namespace vhostmail::net {

namespace {

unique_fd bounded_socket(int family, std::chrono::milliseconds timeout) {
    unique_fd fd(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd) {
        timeval tv{};
        tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
        tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
        ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);  // connect's too
    }
    return fd;
}

}  // namespace

unique_fd connect_endpoint(const endpoint& where, std::chrono::milliseconds timeout,
                           std::string& error) {
    if (where.type == endpoint::kind::unix_socket) {
        sockaddr_un addr{};
        if (where.path.size() >= sizeof(addr.sun_path)) {
            error = where.text + ": path too long";
            return unique_fd();
        }
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, where.path.data(), where.path.size());
        unique_fd fd = bounded_socket(AF_UNIX, timeout);
        if (!fd || ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            error = where.text + ": " + std::strerror(errno);
            return unique_fd();
        }
        return fd;
    }
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (int rc = ::getaddrinfo(where.host.c_str(), where.port.c_str(), &hints, &found); rc != 0) {
        error = where.text + ": " + ::gai_strerror(rc);
        return unique_fd();
    }
    error = where.text + ": no address";
    for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
        unique_fd fd = bounded_socket(a->ai_family, timeout);
        if (fd && ::connect(fd.get(), a->ai_addr, a->ai_addrlen) == 0) {
            ::freeaddrinfo(found);
            return fd;
        }
        error = where.text + ": " +
                (errno == EINPROGRESS || errno == EAGAIN ? std::string("timed out")
                                                         : std::string(std::strerror(errno)));
    }
    ::freeaddrinfo(found);
    return unique_fd();
}

}  // namespace vhostmail::net
