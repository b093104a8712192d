// SPDX-License-Identifier: Apache-2.0
// dovecot_auth.hh - server side of the Dovecot authentication protocol (auth-client, version 1)
// as Postfix's smtpd speaks it (xsasl_dovecot_server.c), plus the PLAIN and LOGIN message
// formats. Pure: no I/O, no logging.
// Wire (TAB-separated fields, LF-terminated lines; docs/protocols.md section 5):
//   client: VERSION 1 <minor> | CPID <pid> | AUTH <id> <mech> [key[=value]]... | CONT <id> <b64>
//   server: VERSION 1 2, MECH <name> <flags>..., SPID, CUID, COOKIE, DONE;
//           OK <id> user=<u> | CONT <id> <b64> | FAIL <id> [user=<u>] [reason=<text>]
// Limits: a line is at most 16384 bytes including LF (Dovecot's AUTH_CLIENT_MAX_LINE_LENGTH); a
// longer line is a fatal framing error. Unknown commands are ignored, as Dovecot does.
// Thread safety: all functions are reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/proto/parsed.hh"

namespace vhostmail::proto {

inline constexpr size_t dovecot_auth_max_line = 16384;

struct dovecot_auth_command {
    enum class verb { version, cpid, auth, cont, unknown };
    verb what = verb::unknown;
    unsigned major = 0, minor = 0;  // VERSION
    uint32_t id = 0;                // AUTH, CONT (Postfix's counter; echoed back as sent)
    std::string mech;               // AUTH, upper-cased
    std::string service;            // AUTH service=
    std::string remote_ip;          // AUTH rip=
    std::string local_ip;           // AUTH lip=
    bool secured = false;           // AUTH secured (TLS)
    bool has_response = false;      // AUTH resp= present (and non-empty), or CONT
    std::string response;           // base64, as sent
};

using dovecot_auth_parse = parsed<dovecot_auth_command>;

// Parses the first line in `buf`. A malformed command with a usable id is an error that is not
// fatal (answer FAIL and go on); a bad VERSION or an overlong line is fatal.
dovecot_auth_parse parse_dovecot_auth_line(std::string_view buf);

struct dovecot_mech {
    std::string name;                // "PLAIN"
    std::vector<std::string> flags;  // "plaintext"
};

// The server's handshake, Dovecot 2.3's order: VERSION, MECH..., SPID, CUID, COOKIE, DONE.
// `cookie` is 32 hex digits.
std::string encode_dovecot_handshake(const std::vector<dovecot_mech>& mechs, uint64_t spid,
                                     uint64_t cuid, std::string_view cookie);
// Field values have TAB, LF and other control characters replaced by '?' (Postfix does not
// decode Dovecot's \001 escapes).
std::string encode_dovecot_ok(uint32_t id, std::string_view user);
std::string encode_dovecot_cont(uint32_t id, std::string_view base64_challenge);
std::string encode_dovecot_fail(uint32_t id, std::string_view reason, std::string_view user = "");

// SASL responses and challenges are base64: vhostmail::base64_decode/encode (lib/core/encoding.hh).

struct plain_message {
    std::string authzid, authcid, password;
};

// RFC 4616: [authzid] NUL authcid NUL passwd, exactly two NULs, authcid and passwd non-empty.
std::optional<plain_message> parse_plain_message(std::string_view decoded);

}  // namespace vhostmail::proto
