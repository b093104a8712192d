// SPDX-License-Identifier: Apache-2.0
// address.hh - address rules: splitting, validation, case folding and recipient-delimiter
// extensions, the way Postfix's split_addr() treats them. Pure, reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vhostmail {

inline constexpr size_t max_local_part_length = 64;  // RFC 5321 4.5.3.1.1
inline constexpr size_t max_domain_length = 253;     // RFC 1035 without the trailing dot
inline constexpr size_t max_address_length = 254;    // RFC 5321 path minus the brackets

struct address_parts {
    std::string local;   // may be empty ("@domain" forms)
    std::string domain;  // may be empty (bare local part)
    bool has_at = false;
};

// Splits at the last '@' (the local part may itself contain '@' when it was quoted).
address_parts split_address(std::string_view address);

// A hostname-style domain: dot-separated LDH labels of 1..63 octets, no leading or trailing
// hyphen, at most 253 octets, no trailing dot. Case is not checked (see normalize_domain).
bool valid_domain(std::string_view domain);

// Lower-cases a domain (ASCII; IDNs arrive as A-labels). Returns nullopt when invalid.
std::optional<std::string> normalize_domain(std::string_view domain);

// A local part as Postfix hands it to lookup tables (unquoted): 1..64 octets, no control
// characters, no NUL; UTF-8 is allowed (SMTPUTF8).
bool valid_local_part(std::string_view local);

// Our local parts are case-insensitive: stored and compared in lower case (ASCII folding).
std::string normalize_local_part(std::string_view local);

// A complete, valid address "local@domain", normalized; nullopt if either part is invalid.
std::optional<address_parts> parse_address(std::string_view address);

struct extension_split {
    std::string base;       // local part without the extension
    std::string extension;  // text after the delimiter, without it ("" when none)
    char delimiter = 0;     // the delimiter character found, 0 when not split
};

// Splits "user+ext" at the first character of `delimiters` (each character is a delimiter,
// as in Postfix's recipient_delimiter). Like Postfix, never splits postmaster, mailer-daemon,
// "owner-*" or "*-request" when the delimiter is '-', nor a local part that begins with a
// delimiter. Returns nullopt when there is nothing to split.
std::optional<extension_split> split_extension(std::string_view local, std::string_view delimiters);

// The key a login's or a sender's failures and budgets are counted under: the address in lower
// case without its +extension ("Joe+x@Example.COM" -> "joe@example.com"), so case and extension
// variants of one address share one counter. Not an address: trimmed and lower-cased.
std::string address_counting_key(std::string_view address, std::string_view delimiters);

}  // namespace vhostmail
