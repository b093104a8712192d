// SPDX-License-Identifier: Apache-2.0
// strings.hh - small ASCII string helpers shared by every layer. Pure, reentrant.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail {

// ASCII-only case folding: mail addresses fold only ASCII (RFC 5321 domains; local parts by our
// rule), and locale-dependent folding would make answers depend on the environment.
std::string ascii_lower(std::string_view s);
void ascii_lower_in_place(std::string& s);
bool iequals(std::string_view a, std::string_view b);

std::string_view trim(std::string_view s);

// Splits on any of `separators`, dropping empty fields (Postfix list syntax: "a, b c").
std::vector<std::string> split_list(std::string_view s, std::string_view separators = ", \t\r\n");

// Replaces CR, LF, other bytes below 0x20 and DEL with '?', so untrusted text cannot forge
// log lines or error messages.
std::string printable(std::string_view s);

// A client-controlled value as it may appear in a log line's field (login=joe, to=<a@b>, a
// client name[...], the text after reason=): the bytes that could end the field or fake one of
// its own become \xNN: blanks, controls, DEL, '"', '\\', '=', ',', ';', '<', '>', '[', ']'.
// Everything else, valid UTF-8 included, stays: "joe status=sent" -> "joe\x20status\x3dsent".
// The one escape every daemon's log lines use.
std::string log_field(std::string_view value);

// Length of the valid UTF-8 sequence starting at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 when the bytes there are not one.
size_t utf8_sequence_length(std::string_view s, size_t i);
bool valid_utf8(std::string_view s);

// FNV-1a, 64 bits: a hash that is the same on every host and every build (std::hash is not
// promised to be), for keys that several hosts must compute alike.
uint64_t stable_hash(std::string_view s);

// `s` itself when it is valid UTF-8 of at most `max` bytes (what a key column holds), else "#"
// and a hash of it that every host computes alike: a key a client made too long or not UTF-8
// still counts, instead of failing the database write.
std::string storable_key(std::string_view s, size_t max);

bool starts_with_icase(std::string_view s, std::string_view prefix);
bool ends_with_icase(std::string_view s, std::string_view suffix);

}  // namespace vhostmail
