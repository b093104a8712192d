// SPDX-License-Identifier: Apache-2.0
// fd_limit.hh - enough file descriptors for a daemon's clients. A daemon serves each client on
// a descriptor of its own (lookupd: one per Postfix process and table, 1000 by default), but
// the soft limit it inherits is often 1024 (systemd's default for services), which the
// clients, listeners, database connections and the routing image would exceed. The daemon
// raises its soft limit to what it needs, within the hard limit, before it drops privileges
// (no higher: the programs it runs inherit the limit).
// Thread safety: call once, at start.
#pragma once

#include <cstdint>
#include <string>

namespace vhostmail::os {

struct fd_limit_result {
    uint64_t limit = 0;  // the soft limit now
    std::string error;   // "" when `needed` fits under it
};

// Raises RLIMIT_NOFILE's soft limit to `needed` (at most the hard limit) when it is lower;
// error says when even the hard limit is below `needed`.
fd_limit_result ensure_fd_limit(uint64_t needed);

}  // namespace vhostmail::os
