// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/schema.hh"

#include <algorithm>
#include <string>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"

namespace vhostmail::vhost {

unsigned parse_login_set(std::string_view set) {
    // Read on every address of a full load: words as views, no allocation.
    unsigned bits = 0;
    while (!set.empty()) {
        size_t comma = set.find(',');
        std::string_view word = set.substr(0, comma);
        set = comma == std::string_view::npos ? std::string_view() : set.substr(comma + 1);
        if (iequals(word, "smtp")) {
            bits |= login_smtp;
        } else if (iequals(word, "imap")) {
            bits |= login_imap;
        } else if (iequals(word, "pop3")) {
            bits |= login_pop3;
        } else if (iequals(word, "sieve")) {
            bits |= login_sieve;
        }
    }
    return bits;
}

unsigned login_set_bits(uint64_t set_number) {
    static_assert(login_smtp == 1 && login_imap == 2 && login_pop3 == 4 && login_sieve == 8,
                  "login_service follows the SET's declaration order");
    return static_cast<unsigned>(set_number & 0x0f);
}

bool is_default_maildir(std::string_view maildir, std::string_view domain,
                        std::string_view local_part) {
    return storable_local_part(local_part) &&
           maildir.size() == domain.size() + local_part.size() + 2 &&
           maildir.substr(0, domain.size()) == domain && maildir[domain.size()] == '/' &&
           maildir.substr(domain.size() + 1, local_part.size()) == local_part &&
           maildir.back() == '/';
}

bool storable_local_part(std::string_view local) {
    return valid_local_part(local) && local.find('/') == std::string_view::npos && local != "." &&
           local != "..";
}

std::string default_maildir(std::string_view domain, std::string_view local_part) {
    std::string path;
    assign_default_maildir(path, domain, local_part);
    return path;
}

void assign_default_maildir(std::string& out, std::string_view domain,
                            std::string_view local_part) {
    out.clear();
    if (storable_local_part(local_part)) {
        out.append(domain).append(1, '/').append(local_part).append(1, '/');
    }
}

fallback_rule parse_fallback(std::string_view stored) {
    std::string_view v = trim(stored);
    if (v.empty()) {
        return {};
    }
    if (v.front() == '|') {
        return {fallback_rule::kind::command, std::string(trim(v.substr(1)))};
    }
    if (v.front() == '@') {
        return {fallback_rule::kind::domain, std::string(v.substr(1))};
    }
    if (v.find('@') != std::string_view::npos) {
        return {fallback_rule::kind::address, std::string(v)};
    }
    return {fallback_rule::kind::local, std::string(v)};
}

std::string fallback_text(const fallback_rule& rule) {
    switch (rule.what) {
        case fallback_rule::kind::none:
            return {};
        case fallback_rule::kind::command:
            return "|" + rule.target;
        case fallback_rule::kind::domain:
            return "@" + rule.target;
        case fallback_rule::kind::address:
        case fallback_rule::kind::local:
            return rule.target;
    }
    return {};
}

std::string normalize_full_name(std::string_view name) {
    std::string out;
    bool pending_dot = false;
    for (unsigned char c : name) {
        bool word =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80 || (c >= 'A' && c <= 'Z');
        if (!word) {
            pending_dot = !out.empty();
            continue;
        }
        if (pending_dot) {
            out += '.';
            pending_dot = false;
        }
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : static_cast<char>(c);
    }
    return out;
}

namespace {

bool valid_port(std::string_view port) {
    if (port.empty() || port.size() > 32) {
        return false;
    }
    if (std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return port.size() <= 5 && std::stoul(std::string(port)) >= 1 &&
               std::stoul(std::string(port)) <= 65535;
    }
    return std::all_of(port.begin(), port.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

bool valid_ipv4(std::string_view s) {
    int parts = 0;
    while (!s.empty()) {
        auto dot = s.find('.');
        auto part = s.substr(0, dot);
        if (part.empty() || part.size() > 3 ||
            !std::all_of(part.begin(), part.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
            std::stoi(std::string(part)) > 255) {
            return false;
        }
        ++parts;
        s.remove_prefix(dot == std::string_view::npos ? s.size() : dot + 1);
        if (dot != std::string_view::npos && s.empty()) {
            return false;
        }
    }
    return parts == 4;
}

bool valid_ipv6_text(std::string_view s) {
    return !s.empty() && s.size() <= 45 && s.find(':') != std::string_view::npos &&
           std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') ||
                      c == ':' || c == '.';
           });
}

// A hostname, or an IPv4 address when it is all digits and dots (never a "hostname" 300.1.1.1).
bool valid_host(std::string_view host) {
    bool numeric = !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
        return (c >= '0' && c <= '9') || c == '.';
    });
    return numeric ? valid_ipv4(host) : valid_domain(host);
}

}  // namespace

bool valid_nexthop(std::string_view nexthop) {
    std::string_view host = nexthop;
    std::string_view port;
    if (nexthop.starts_with('[')) {
        auto close = nexthop.find(']');
        if (close == std::string_view::npos) {
            return false;
        }
        host = nexthop.substr(1, close - 1);
        auto rest = nexthop.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') {
                return false;
            }
            port = rest.substr(1);
            if (!valid_port(port)) {
                return false;
            }
        }
        if (starts_with_icase(host, "ipv6:")) {
            return valid_ipv6_text(host.substr(5));
        }
        return valid_host(host);
    }
    auto colon = nexthop.find(':');
    if (colon != std::string_view::npos) {
        host = nexthop.substr(0, colon);
        if (!valid_port(nexthop.substr(colon + 1))) {
            return false;
        }
    }
    return valid_host(host);
}

bool valid_transport(std::string_view transport) {
    auto colon = transport.find(':');
    if (colon == std::string_view::npos || colon == 0 || colon > 32) {
        return false;
    }
    auto name = transport.substr(0, colon);
    auto next = transport.substr(colon + 1);
    if (!((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= '0' && name[0] <= '9')) ||
        !std::all_of(name.begin(), name.end(), [](char c) {
            return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        })) {
        return false;
    }
    if (next.empty()) {
        return true;
    }
    if (next.starts_with("unix:/")) {
        auto path = next.substr(5);
        return path.size() <= 200 && path.find("..") == std::string_view::npos &&
               std::all_of(path.begin(), path.end(), [](char c) {
                   return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '/' || c == '.' || c == '_' || c == '-';
               });
    }
    if (next.starts_with("inet:")) {
        next.remove_prefix(5);
    }
    return valid_nexthop(next);
}

}  // namespace vhostmail::vhost
