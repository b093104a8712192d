// SPDX-License-Identifier: Apache-2.0
// network.hh - client IP addresses as the daemons count and match them: networks (CIDR), the
// network a client belongs to, and the one key per client that throttling and rate limits
// count under. Pure, reentrant. IPv4-mapped IPv6 addresses ("::ffff:192.0.2.7") are the IPv4
// client they stand for.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vhostmail {

// The client's network: IPv4 masked to ipv4_prefix bits ("198.51.100.0/24"), IPv6 to
// ipv6_prefix bits ("2001:db8::/64"); nullopt when `address` is not an IP address.
std::optional<std::string> client_network(std::string_view address, unsigned ipv4_prefix,
                                          unsigned ipv6_prefix);

// One CIDR network or single address ("192.0.2.0/24", "2001:db8::/32", "198.51.100.7").
struct cidr {
    std::array<uint8_t, 16> bytes{};
    unsigned prefix = 0;  // bits
    bool v6 = false;

    static std::optional<cidr> parse(std::string_view text);
    bool contains(std::string_view address) const;
    std::string text() const;  // "192.0.2.0/24"
};

// The key a client's failures and budgets are counted under: an IPv4 address itself
// ("192.0.2.7"); an IPv6 address by its /64 ("2001:db8:1:2::/64"), because one host usually
// holds a whole /64 and could otherwise take a fresh address for every attempt; anything else
// trimmed and lower-cased ("" stays "": the client is unknown).
std::string client_counting_key(std::string_view address);

}  // namespace vhostmail
