// SPDX-License-Identifier: Apache-2.0
// socketmap.hh - Sendmail/Postfix socketmap(5) codec, server side. Pure: no I/O, no logging.
// Wire (Postfix util/dict_sockmap.c), each message one netstring (see netstring.hh):
//   request = netstring(mapname SP key)   ; mapname: text after the last ':' of the Postfix table
//                                          ; name; key: raw bytes, may contain SP, never NUL
//   reply   = netstring("OK" SP data | "NOTFOUND" SP | "TEMP" SP reason | "TIMEOUT" SP reason
//                       | "PERM" SP reason)
// Postfix: status words are case-sensitive; "OK" without SP or with empty data is not a value
// (empty data fails the lookup in maps_find()); TEMP, TIMEOUT, PERM and unknown words are all
// temporary lookup errors (PERM becomes 451 4.3.5); data is used as a C string, so a NUL in it
// silently truncates the answer. Requests on one connection are strictly sequential.
// Limits: reply payload <= 100000 bytes (Postfix DICT_SOCKMAP_DEF_MAX_REPLY; larger is a lookup
// error). Postfix sets no request limit; we cap the request payload at 10000 bytes (the raw key
// is not encoded, and Postfix's SMTP line_length_limit is 2048).
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "lib/proto/parsed.hh"

namespace vhostmail::proto {

inline constexpr size_t socketmap_max_request = 10000;  // our cap on the request payload
inline constexpr size_t socketmap_max_reply = 100000;   // Postfix's cap on the reply payload
inline constexpr size_t socketmap_max_map_name = 64;

struct socketmap_request {
    std::string map;  // 1..64 chars of [A-Za-z0-9_.-]
    std::string key;  // non-empty, no NUL, otherwise raw bytes (spaces, UTF-8, CR, LF...)
};

// Outcome of parse_socketmap_request.
// An error is fatal when the netstring framing is lost (reply PERM, then close).
using socketmap_parse = parsed<socketmap_request>;

// Parses one request netstring "<map> <key>" from the front of buf, splitting at the first SP
// (map name: 1..64 chars of [A-Za-z0-9_.-]; key: the rest, may contain spaces, must be non-empty
// and contain no NUL). A bad netstring or one longer than max_request is a fatal error. A
// well-framed but bad payload (no space, bad map name, empty key, NUL in the key) is a non-fatal
// error with consumed set: reply PERM and keep the connection.
socketmap_parse parse_socketmap_request(std::string_view buf,
                                        size_t max_request = socketmap_max_request);

enum class socketmap_status { ok, notfound, temp, perm, timeout };

// The reply word of a status: "OK", "NOTFOUND", "TEMP", "PERM", "TIMEOUT".
std::string_view socketmap_status_word(socketmap_status status);

// Encodes "OK <data>", "NOTFOUND ", "TEMP <data>", "PERM <data>", "TIMEOUT <data>" as a
// netstring; for notfound, data is ignored, for the others it is the reason text. Never emits an
// answer Postfix would misread: if the payload would exceed max_reply bytes, or an ok reply has
// empty data or data containing NUL, returns a TEMP reply saying why instead.
std::string encode_socketmap_reply(socketmap_status status, std::string_view data,
                                   size_t max_reply = socketmap_max_reply);

}  // namespace vhostmail::proto
