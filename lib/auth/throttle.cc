// SPDX-License-Identifier: Apache-2.0
#include "lib/auth/throttle.hh"

#include <algorithm>

#include "lib/core/address.hh"
#include "lib/core/network.hh"
#include "lib/core/strings.hh"

namespace vhostmail::auth {

namespace {

// Column sizes of auth_attempts (0005_auth_attempts.sql).
constexpr size_t max_login_key = 320;
constexpr size_t max_client_key = 64;

}  // namespace

throttle_subject throttle_keys(std::string_view login, std::string_view client,
                               std::string_view delimiters) {
    std::string c = client_counting_key(client);
    bool ascii = std::all_of(c.begin(), c.end(), [](char ch) { return ch > 0x20 && ch < 0x7f; });
    return {storable_key(address_counting_key(login, delimiters), max_login_key),
            c.empty() ? c : storable_key(c, ascii ? max_client_key : 0)};
}

uint64_t counted_failures(const throttle_counts& c) {
    return std::max(c.client_failures, c.trusted ? uint64_t{0} : c.login_failures);
}

throttle_decision decide(const throttle_counts& c, const throttle_limits& l) {
    throttle_decision d;
    uint64_t n = counted_failures(c);
    if (!l.enabled || n <= l.free_failures) {
        return d;
    }
    d.refuse = c.client_known && n >= l.block_after;
    uint64_t doublings = std::min<uint64_t>(n - l.free_failures - 1, 20);  // 2^20: past any cap
    auto delay = l.base_delay * (int64_t{1} << doublings);
    d.delay = std::min(delay, l.max_delay);
    return d;
}

}  // namespace vhostmail::auth
