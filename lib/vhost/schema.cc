// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/schema.hh"

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

}  // namespace vhostmail::vhost
