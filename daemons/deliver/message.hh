// SPDX-License-Identifier: Apache-2.0
// message.hh - the header section of a message as delivery needs it (RFC 5322 2.2): field name,
// colon, value; folded lines (starting with SP/HTAB) continue the previous field. The header ends
// at the first empty line. Pure, bounded: at most max_headers fields and max_header_bytes of
// header text are looked at; a line that is not a field ends the header (as in mailers' parsers).
// Thread safety: reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::deliver {

inline constexpr size_t max_headers = 1000;
inline constexpr size_t max_header_bytes = 1 << 20;

struct header_field {
    std::string name;   // as written
    std::string value;  // unfolded (CR/LF of folds removed), leading/trailing blanks trimmed
};

std::vector<header_field> parse_headers(std::string_view message);

// The first field named `name` (case-insensitive).
std::optional<std::string> find_header(const std::vector<header_field>& headers,
                                       std::string_view name);

// The addresses in an address-list value ("Joe <a@b>, c@d, "x, y" <e@f>"), lower-cased,
// bounded to 1000 entries. Groups and comments are handled loosely (good enough to compare).
std::vector<std::string> header_addresses(std::string_view value);

}  // namespace vhostmail::deliver
