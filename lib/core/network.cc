// SPDX-License-Identifier: Apache-2.0
#include "lib/core/network.hh"

#include <arpa/inet.h>
#include <cstring>

#include "lib/core/strings.hh"

namespace vhostmail {

namespace {

// Parses an IPv4 or IPv6 literal into 16 bytes (IPv4 in the first 4).
std::optional<std::pair<std::array<uint8_t, 16>, bool>> parse_ip(std::string_view text) {
    std::string s(text);
    std::array<uint8_t, 16> b{};
    if (inet_pton(AF_INET, s.c_str(), b.data()) == 1) {
        return std::pair{b, false};
    }
    if (inet_pton(AF_INET6, s.c_str(), b.data()) == 1) {
        // An IPv4-mapped address is the IPv4 client it stands for.
        static constexpr uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(b.data(), mapped, 12) == 0) {
            std::array<uint8_t, 16> v4{};
            std::memcpy(v4.data(), b.data() + 12, 4);
            return std::pair{v4, false};
        }
        return std::pair{b, true};
    }
    return std::nullopt;
}

void mask(std::array<uint8_t, 16>& b, unsigned prefix, bool v6) {
    unsigned bits = v6 ? 128 : 32;
    for (unsigned i = prefix; i < bits; ++i) {
        b[i / 8] &= static_cast<uint8_t>(~(0x80u >> (i % 8)));
    }
}

std::string format_ip(const std::array<uint8_t, 16>& b, bool v6) {
    char out[INET6_ADDRSTRLEN] = {};
    inet_ntop(v6 ? AF_INET6 : AF_INET, b.data(), out, sizeof(out));
    return out;
}

}  // namespace

std::optional<std::string> client_network(std::string_view address, unsigned ipv4_prefix,
                                          unsigned ipv6_prefix) {
    auto ip = parse_ip(address);
    if (!ip) {
        return std::nullopt;
    }
    auto [b, v6] = *ip;
    unsigned prefix = v6 ? std::min(ipv6_prefix, 128u) : std::min(ipv4_prefix, 32u);
    mask(b, prefix, v6);
    return format_ip(b, v6) + "/" + std::to_string(prefix);
}

std::optional<cidr> cidr::parse(std::string_view text) {
    auto slash = text.find('/');
    auto ip = parse_ip(text.substr(0, slash));
    if (!ip) {
        return std::nullopt;
    }
    cidr c;
    c.bytes = ip->first;
    c.v6 = ip->second;
    c.prefix = c.v6 ? 128 : 32;
    if (slash != std::string_view::npos) {
        auto rest = text.substr(slash + 1);
        if (rest.empty() || rest.size() > 3 || rest.find_first_not_of("0123456789") != rest.npos) {
            return std::nullopt;
        }
        unsigned p = static_cast<unsigned>(std::stoul(std::string(rest)));
        if (p > c.prefix) {
            return std::nullopt;
        }
        c.prefix = p;
    }
    mask(c.bytes, c.prefix, c.v6);
    return c;
}

bool cidr::contains(std::string_view address) const {
    auto ip = parse_ip(address);
    if (!ip || ip->second != v6) {
        return false;
    }
    auto b = ip->first;
    mask(b, prefix, v6);
    return b == bytes;
}

std::string cidr::text() const {
    return format_ip(bytes, v6) + "/" + std::to_string(prefix);
}

std::string client_counting_key(std::string_view address) {
    auto ip = parse_ip(address);
    if (!ip) {
        return ascii_lower(trim(address));
    }
    auto [b, v6] = *ip;
    if (!v6) {
        return format_ip(b, false);
    }
    mask(b, 64, true);
    return format_ip(b, true) + "/64";
}

}  // namespace vhostmail
