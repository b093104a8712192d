// SPDX-License-Identifier: Apache-2.0
#include <cerrno>
#include <climits>
#include <cstring>
#include <exception>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/core/dsn.hh"
#include "lib/core/exit_code.hh"
#include "lib/log/log.hh"

#include "daemons/deliver/deliver_programs.hh"
#include "daemons/deliver/lmtp_relay.hh"
#include "daemons/deliver/pipe_common.hh"
#include "daemons/deliver/settings.hh"

namespace vhostmail::deliver {

namespace {

// Replaces this process with vhostmail-deliver-direct next to it; `message_fd` (or -1: stdin
// untouched) becomes its stdin. Returns only on failure.
int exec_direct(char** argv, int message_fd) {
    char self[PATH_MAX] = {};
    ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
    std::string path = n > 0 ? std::string(self, static_cast<size_t>(n)) : std::string();
    path = path.substr(0, path.rfind('/') + 1) + "vhostmail-deliver-direct";
    if (message_fd >= 0 && ::dup2(message_fd, 0) < 0) {
        log::error("cannot pass the message on: {}", std::strerror(errno));
        return pipe_finish(ex_tempfail, dsn::local_error.enhanced, "internal error");
    }
    optind = 1;
    ::execv(path.c_str(), argv);
    log::error("cannot run {}: {}", path, std::strerror(errno));
    return pipe_finish(ex_tempfail, dsn::local_error.enhanced, "vhostmail-deliver-direct missing");
}

// The message in an anonymous file at offset 0, for the direct delivery's stdin.
int message_file(const std::string& message) {
    int fd = ::memfd_create("vhostmail-message", MFD_CLOEXEC);
    if (fd < 0) {
        return -1;
    }
    for (size_t done = 0; done < message.size();) {
        ssize_t n = ::write(fd, message.data() + done, message.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            ::close(fd);
            return -1;
        }
        done += static_cast<size_t>(n);
    }
    ::lseek(fd, 0, SEEK_SET);
    return fd;
}

}  // namespace

int run_relay_front(int argc, char** argv) {
    return run_started_pipe(argc, argv, [argv](const pipe_start& st) {
        std::string relay = st.cfg->get_string("deliver_lmtp_relay");
        if (relay.empty()) {
            return exec_direct(argv, -1);
        }
        std::string message;
        if (!read_message(message, st.cfg->get_size("deliver_max_message_size"))) {
            return pipe_finish(ex_dataerr, dsn::too_big.enhanced, "message too big");
        }
        relay_request req;
        req.socket_path = relay.starts_with("unix:") ? relay.substr(5) : relay;
        req.sender = st.args.sender;
        req.recipients = st.args.recipients;
        req.original_recipient = st.args.original;
        req.helo_name = delivery_settings_from(*st.cfg).hostname;
        if (auto results = relay_to_lmtpd(req, message)) {
            return pipe_finish_worst(st.args, *results, true);
        }
        log::info("lmtpd not reachable at {}: delivering directly", relay);
        int fd = message_file(message);
        if (fd < 0) {
            log::error("cannot keep the message for direct delivery: {}", std::strerror(errno));
            return pipe_finish(ex_tempfail, dsn::local_error.enhanced, "internal error");
        }
        return exec_direct(argv, fd);
    });
}

}  // namespace vhostmail::deliver
