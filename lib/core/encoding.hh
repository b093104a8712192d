// SPDX-License-Identifier: Apache-2.0
// encoding.hh - hex and base64 (RFC 4648), the one implementation every layer uses: the Dovecot
// auth protocol, tcp_table's %XX quoting, stored password hashes, log fields and cache keys.
// Pure, reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace vhostmail {

// The value of one hex digit (either case), or -1.
int hex_digit_value(char c);

// The hex digit of v (0..15).
inline char hex_digit(unsigned v, bool upper = false) {
    return (upper ? "0123456789ABCDEF" : "0123456789abcdef")[v & 15];
}

// Lower-case hex of bytes; hex_decode reads either case, nullopt on an odd length or a non-digit.
std::string hex_encode(std::string_view bytes);
std::optional<std::string> hex_decode(std::string_view text);

// Strict base64: padding required, no whitespace, and the bits beyond the data must be zero
// (one text per byte string, so a decode and re-encode round-trips). nullopt when malformed.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace vhostmail
