// SPDX-License-Identifier: Apache-2.0
// netstring.hh - D. J. Bernstein netstrings (http://cr.yp.to/proto/netstrings.txt), the framing of
// socketmap(5). Pure: no I/O, no logging.
// Grammar: netstring = length ":" payload ","   ; length = "0" / (%x31-39 *DIGIT), decimal,
//          payload = exactly <length> arbitrary bytes (NUL, CR, LF included). "0:," is legal.
// Postfix's netstring.c also accepts leading zeros; it never sends them (it prints "%ld:"), so we
// accept only the canonical form, which makes encode(parse(x)) == x byte for byte.
// Limits: the caller passes the payload limit; the length is rejected as soon as its digits exceed
// it, so a hostile peer can never make the caller buffer more than limit + digits + 2 bytes.
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace vhostmail::proto {

// Outcome of parse_netstring. Every error means the framing is lost (the stream cannot be
// resynchronised): the caller must stop reading from that peer.
struct netstring_result {
    enum class kind { need_more, value, error };
    kind what = kind::need_more;
    std::string_view value;  // kind::value: the payload, a view into the input buffer
    size_t consumed = 0;     // kind::value: bytes of input used (length digits, ':', payload, ',')
    std::string error;  // kind::error: human-readable reason ("netstring length exceeds 100000")
};

// Parses one netstring "<len>:<bytes>," from the front of buf; payloads longer than max_length
// are an error. Leading zeros are accepted only as "0". need_more means buf is a proper prefix of
// a netstring that may still be valid; the result is the same however the input is split.
netstring_result parse_netstring(std::string_view buf, size_t max_length);

// Returns "<payload.size()>:<payload>,".
std::string encode_netstring(std::string_view payload);

}  // namespace vhostmail::proto
