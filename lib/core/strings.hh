// SPDX-License-Identifier: Apache-2.0
// strings.hh - small ASCII string helpers shared by every layer. Pure, reentrant.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace vhostmail {

// ASCII-only case folding: mail addresses fold only ASCII (RFC 5321 domains; local parts by our
// rule), and locale-dependent folding would make answers depend on the environment.
std::string ascii_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);

std::string_view trim(std::string_view s);

// Splits on any of `separators`, dropping empty fields (Postfix list syntax: "a, b c").
std::vector<std::string> split_list(std::string_view s, std::string_view separators = ", \t\r\n");

// Replaces CR, LF, other bytes below 0x20 and DEL with '?', so untrusted text cannot forge
// log lines or error messages.
std::string printable(std::string_view s);

bool starts_with_icase(std::string_view s, std::string_view prefix);
bool ends_with_icase(std::string_view s, std::string_view suffix);

}  // namespace vhostmail
