// SPDX-License-Identifier: Apache-2.0
#include "lib/core/address.hh"

#include "lib/core/strings.hh"

namespace vhostmail {

address_parts split_address(std::string_view address) {
    address_parts parts;
    auto at = address.rfind('@');
    if (at == std::string_view::npos) {
        parts.local = std::string(address);
        return parts;
    }
    parts.has_at = true;
    parts.local = std::string(address.substr(0, at));
    parts.domain = std::string(address.substr(at + 1));
    return parts;
}

namespace {

bool ldh(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool valid_label(std::string_view label) {
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
        return false;
    }
    for (char c : label) {
        if (!ldh(c)) {
            return false;
        }
    }
    return true;
}

}  // namespace

bool valid_domain(std::string_view domain) {
    if (domain.empty() || domain.size() > max_domain_length) {
        return false;
    }
    size_t start = 0;
    while (true) {
        auto dot = domain.find('.', start);
        auto label = domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (!valid_label(label)) {
            return false;
        }
        if (dot == std::string_view::npos) {
            return true;
        }
        start = dot + 1;
    }
}

std::optional<std::string> normalize_domain(std::string_view domain) {
    if (!valid_domain(domain)) {
        return std::nullopt;
    }
    return ascii_lower(domain);
}

bool valid_local_part(std::string_view local) {
    if (local.empty() || local.size() > max_local_part_length) {
        return false;
    }
    for (unsigned char c : local) {
        if (c < 0x20 || c == 0x7f) {
            return false;
        }
    }
    return true;
}

std::string normalize_local_part(std::string_view local) {
    return ascii_lower(local);
}

std::optional<address_parts> parse_address(std::string_view address) {
    if (address.size() > max_address_length) {
        return std::nullopt;
    }
    auto parts = split_address(address);
    if (!parts.has_at || !valid_local_part(parts.local)) {
        return std::nullopt;
    }
    auto domain = normalize_domain(parts.domain);
    if (!domain) {
        return std::nullopt;
    }
    parts.local = normalize_local_part(parts.local);
    parts.domain = std::move(*domain);
    return parts;
}

std::optional<extension_split> split_extension(std::string_view local,
                                               std::string_view delimiters) {
    if (delimiters.empty() || iequals(local, "postmaster") || iequals(local, "mailer-daemon")) {
        return std::nullopt;
    }
    auto pos = local.find_first_of(delimiters);
    if (pos == 0 || pos == std::string_view::npos) {
        return std::nullopt;
    }
    if (local[pos] == '-' &&
        (starts_with_icase(local, "owner-") || ends_with_icase(local, "-request"))) {
        return std::nullopt;
    }
    return extension_split{std::string(local.substr(0, pos)), std::string(local.substr(pos + 1)),
                           local[pos]};
}

std::string address_counting_key(std::string_view address, std::string_view delimiters) {
    auto parts = parse_address(address);
    if (!parts) {
        return ascii_lower(trim(address));
    }
    if (auto ext = split_extension(parts->local, delimiters)) {
        parts->local = ext->base;
    }
    return parts->local + "@" + parts->domain;
}

}  // namespace vhostmail
