// SPDX-License-Identifier: Apache-2.0
// tcp_table.hh - Postfix tcp_table(5) codec, server side. Pure: no I/O, no logging.
// Wire (Postfix util/dict_tcp.c, util/hex_quote.c), one request line, one reply line:
//   request = "get" SP encoded-key LF      ; Postfix sends only "get"; "put" is not implemented
//   reply   = 3DIGIT SP encoded-text LF    ; 200 found (value = decoded text), 500 not found,
//                                          ; 400 temporary error (Postfix then closes)
// Encoding (%XX, upper-case hex): '%', SP, bytes < 0x20 (incl. TAB, CR, LF), 0x7F and >= 0x80 are
// encoded, everything else is sent raw. The decoder accepts hex digits in either case and rejects
// a '%' not followed by two hex digits. Postfix uses the decoded value as a C string: "%00"
// truncates it, and an empty value fails the lookup (maps_find()).
// Limits: a reply line, LF included, is at most 4096 bytes (DICT_TCP_MAXLEN; a longer one is a
// lookup error and a reconnect). Postfix sets no request limit and a key grows up to 3x when
// encoded (2048-byte SMTP line_length_limit -> > 6000 bytes), so we accept request lines up to
// 16384 bytes, LF included, and answer 500 for longer keys (docs/protocols.md 1.4).
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "lib/proto/parsed.hh"

namespace vhostmail::proto {

inline constexpr size_t tcp_table_max_request = 16384;  // request line incl. LF: our cap
inline constexpr size_t tcp_table_max_reply = 4096;     // reply line incl. LF: Postfix's cap

struct tcp_table_request {
    std::string key;  // decoded; non-empty, no NUL
};

// Outcome of parse_tcp_table_request.
// An error is fatal when no LF came within max_line bytes (reply 500, then close).
using tcp_table_parse = parsed<tcp_table_request>;

// Parses one request line from the front of buf. max_line bounds the line including its LF (and
// an optional CR before it, which is tolerated). Only "get" SP key is a lookup; "put", unknown
// commands, a missing or empty key, a bad %XX escape and a key decoding to something containing
// NUL are non-fatal errors with consumed set: reply 500 with the reason and keep the connection.
tcp_table_parse parse_tcp_table_request(std::string_view buf,
                                        size_t max_line = tcp_table_max_request);

enum class tcp_table_status { ok = 200, not_found = 500, temp = 400 };

// Encodes "<code> <tcp_table_encode(text)>\n". Never emits an answer Postfix would misread or
// truncate: a line longer than max_reply bytes (LF included), or an ok reply whose text is empty
// or contains NUL, becomes a "400 <reason>" (temporary) line instead; max_reply < 5 cannot be
// honoured.
std::string encode_tcp_table_reply(tcp_table_status status, std::string_view text,
                                   size_t max_reply = tcp_table_max_reply);

// Whether `value` goes out as an ok answer (encode_tcp_table_reply does not replace it with a
// 400): what an admin needs to know of a long alias list Postfix asks over tcp_table.
bool tcp_table_answer_fits(std::string_view value, size_t max_reply = tcp_table_max_reply);

// %XX-encodes raw the way Postfix's hex_quote() does (see the header comment).
std::string tcp_table_encode(std::string_view raw);

// Decodes %XX escapes (either case). Returns nullopt on '%' not followed by two hex digits.
std::optional<std::string> tcp_table_decode(std::string_view encoded);

}  // namespace vhostmail::proto
