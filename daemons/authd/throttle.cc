// SPDX-License-Identifier: Apache-2.0
#include "daemons/authd/throttle.hh"

#include <algorithm>

namespace vhostmail::authd {

uint64_t counted_failures(const throttle_counts& c) {
    return std::max(c.client_failures, c.trusted ? uint64_t{0} : c.login_failures);
}

throttle_decision decide(const throttle_counts& c, const throttle_limits& l) {
    throttle_decision d;
    uint64_t n = counted_failures(c);
    if (!l.enabled || n <= l.free_failures) {
        return d;
    }
    d.refuse = n >= l.block_after;
    uint64_t doublings = std::min<uint64_t>(n - l.free_failures - 1, 20);  // 2^20: past any cap
    auto delay = l.base_delay * (int64_t{1} << doublings);
    d.delay = std::min(delay, l.max_delay);
    return d;
}

}  // namespace vhostmail::authd
