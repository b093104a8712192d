// SPDX-License-Identifier: Apache-2.0
#include "lib/os/fd_limit.hh"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sys/resource.h>

namespace vhostmail::os {

fd_limit_result ensure_fd_limit(uint64_t needed) {
    fd_limit_result r;
    rlimit nofile{};
    if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0) {
        r.error = std::string("getrlimit: ") + std::strerror(errno);
        return r;
    }
    if (nofile.rlim_cur < needed && nofile.rlim_cur < nofile.rlim_max) {
        rlimit raised = nofile;
        raised.rlim_cur = std::min<rlim_t>(nofile.rlim_max, needed);
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) {
            nofile = raised;
        }
    }
    r.limit = nofile.rlim_cur;
    if (nofile.rlim_cur < needed) {
        r.error = "the open files limit is " + std::to_string(nofile.rlim_cur) + ", " +
                  std::to_string(needed) + " are needed";
    }
    return r;
}

}  // namespace vhostmail::os
