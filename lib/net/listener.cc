// SPDX-License-Identifier: Apache-2.0
#include "lib/net/listener.hh"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

namespace vhostmail::net {

std::optional<endpoint> parse_endpoint(std::string_view text, std::string& error) {
    endpoint e;
    e.text = std::string(text);
    std::string_view rest = text;
    if (rest.starts_with("unix:") || rest.starts_with("/")) {
        if (rest.starts_with("unix:")) {
            rest.remove_prefix(5);
        }
        if (rest.empty() || rest.front() != '/' || rest.size() >= sizeof(sockaddr_un::sun_path)) {
            error = "bad unix socket path in \"" + e.text + "\" (absolute, shorter than 108)";
            return std::nullopt;
        }
        e.type = endpoint::kind::unix_socket;
        e.path = std::string(rest);
        return e;
    }
    if (rest.starts_with("inet:")) {
        rest.remove_prefix(5);
    }
    size_t colon;
    if (rest.starts_with("[")) {
        auto close = rest.find(']');
        if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
            error = "bad address \"" + e.text + "\" (expected [v6addr]:port)";
            return std::nullopt;
        }
        e.host = std::string(rest.substr(1, close - 1));
        colon = close + 1;
    } else {
        colon = rest.rfind(':');
        if (colon == std::string_view::npos) {
            error = "bad address \"" + e.text + "\" (expected host:port or unix:/path)";
            return std::nullopt;
        }
        e.host = std::string(rest.substr(0, colon));
    }
    e.port = std::string(rest.substr(colon + 1));
    char* end = nullptr;
    long port = std::strtol(e.port.c_str(), &end, 10);
    if (e.port.empty() || *end != '\0' || port < 1 || port > 65535 || e.host.empty()) {
        error = "bad address \"" + e.text + "\" (port must be 1..65535)";
        return std::nullopt;
    }
    e.type = endpoint::kind::tcp;
    return e;
}

namespace {

std::string errno_text(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Inherited systemd sockets, fd -> claimed.
std::mutex inherited_mutex;
std::vector<std::pair<int, bool>> inherited;
bool inherited_read = false;

void read_inherited() {
    if (inherited_read) {
        return;
    }
    inherited_read = true;
    const char* pid = std::getenv("LISTEN_PID");
    const char* fds = std::getenv("LISTEN_FDS");
    if (pid == nullptr || fds == nullptr || std::atol(pid) != static_cast<long>(getpid())) {
        return;
    }
    int n = std::atoi(fds);
    for (int i = 0; i < n && i < 64; ++i) {
        int fd = 3 + i;
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        inherited.emplace_back(fd, false);
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
}

bool same_address(int fd, const sockaddr* want, socklen_t want_len) {
    sockaddr_storage have{};
    socklen_t len = sizeof(have);
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&have), &len) != 0) {
        return false;
    }
    return len == want_len && std::memcmp(&have, want, len) == 0;
}

int take_inherited(const sockaddr* addr, socklen_t len) {
    std::lock_guard lock(inherited_mutex);
    read_inherited();
    for (auto& [fd, claimed] : inherited) {
        if (!claimed && same_address(fd, addr, len)) {
            claimed = true;
            return fd;
        }
    }
    return -1;
}

bind_result open_unix(const endpoint& where, const unix_socket_options& options) {
    bind_result r;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, where.path.data(), where.path.size());
    auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + where.path.size() + 1);
    auto* sa = reinterpret_cast<const sockaddr*>(&addr);
    if (int fd = take_inherited(sa, len); fd >= 0) {
        r.value = listener{where, unique_fd(fd), {}};
        return r;
    }
    unique_fd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) {
        r.error = errno_text("socket");
        return r;
    }
    struct stat st {};
    if (lstat(where.path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            r.error = where.path + " exists and is not a socket";
            return r;
        }
        unique_fd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (connect(probe.get(), sa, len) == 0) {
            r.error = where.path + " is in use by another process";
            return r;
        }
        unlink(where.path.c_str());
    }
    // Bind under a restrictive umask so the socket is never briefly world-accessible.
    mode_t old_umask = umask(0177);
    int rc = bind(fd.get(), sa, len);
    umask(old_umask);
    if (rc != 0) {
        r.error = errno_text(("bind " + where.path).c_str());
        return r;
    }
    if (!options.group.empty()) {
        struct group* g = getgrnam(options.group.c_str());
        if (g == nullptr || chown(where.path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
            r.error = "cannot give " + where.path + " to group \"" + options.group + "\"";
            unlink(where.path.c_str());
            return r;
        }
    }
    if (chmod(where.path.c_str(), options.mode) != 0 || listen(fd.get(), SOMAXCONN) != 0) {
        r.error = errno_text(("listen " + where.path).c_str());
        unlink(where.path.c_str());
        return r;
    }
    r.value = listener{where, std::move(fd), {}};
    return r;
}

bind_result open_tcp(const endpoint& where) {
    bind_result r;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    int gai = getaddrinfo(where.host == "*" ? nullptr : where.host.c_str(), where.port.c_str(),
                          &hints, &res);
    if (gai != 0) {
        r.error = "cannot resolve " + where.text + ": " + gai_strerror(gai);
        return r;
    }
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
    if (int fd = take_inherited(res->ai_addr, res->ai_addrlen); fd >= 0) {
        r.value = listener{where, unique_fd(fd), {}};
        return r;
    }
    unique_fd fd(socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
    int on = 1;
    if (!fd || setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) != 0) {
        r.error = errno_text("socket");
        return r;
    }
    if (bind(fd.get(), res->ai_addr, res->ai_addrlen) != 0 || listen(fd.get(), SOMAXCONN) != 0) {
        r.error = errno_text(("bind " + where.text).c_str());
        return r;
    }
    r.value = listener{where, std::move(fd), {}};
    return r;
}

}  // namespace

bind_result open_listener(const endpoint& where, const unix_socket_options& unix_options,
                          std::string tag) {
    bind_result r = where.type == endpoint::kind::unix_socket ? open_unix(where, unix_options)
                                                               : open_tcp(where);
    if (r.value) {
        r.value->tag = std::move(tag);
    }
    return r;
}

void close_unclaimed_inherited() {
    std::lock_guard lock(inherited_mutex);
    read_inherited();
    for (auto& [fd, claimed] : inherited) {
        if (!claimed) {
            close(fd);
            claimed = true;
        }
    }
}

}  // namespace vhostmail::net
