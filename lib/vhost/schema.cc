// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/schema.hh"

#include "lib/core/strings.hh"

namespace vhostmail::vhost {

unsigned parse_login_set(std::string_view set) {
    unsigned bits = 0;
    for (const auto& word : split_list(set, ",")) {
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

std::string default_maildir(std::string_view domain, std::string_view local_part) {
    std::string path(domain);
    path += '/';
    path += local_part;
    path += '/';
    return path;
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
