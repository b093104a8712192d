// SPDX-License-Identifier: Apache-2.0
// lmtp.hh - LMTP (RFC 2033) command lines and replies, server side. Pure: no I/O, no logging.
// Wire (RFC 5321 syntax, RFC 2033 verbs):
//   line    = command CRLF            ; a bare LF is accepted as the end of a line too
//   command = "LHLO" SP domain | "MAIL FROM:" path *(SP param) | "RCPT TO:" path *(SP param)
//           | "DATA" | "RSET" | "NOOP" [SP text] | "QUIT" | "VRFY" SP text
//           | "HELO"/"EHLO" ...       ; recognized only to be refused (RFC 2033 4.1: 500)
//   path    = "<" [address] ">"       ; "<>" only in MAIL; source routes "@a,@b:" are dropped
//   param   = keyword ["=" value]     ; MAIL: SIZE=n BODY=7BIT|8BITMIME SMTPUTF8 RET= ENVID=
//                                     ; RCPT: ORCPT=rfc822;xtext NOTIFY=
//   reply   = code SP enhanced SP text CRLF ; multi-line "code-" ... "code " (LHLO)
// Verbs and parameter keywords are case-insensitive. Addresses keep their case; a quoted local
// part is unquoted ("a b"@x -> a b@x).
// Limits: a command line is at most lmtp_max_line bytes (Postfix sends lines < 2048; RFC 5321
// allows extensions beyond 512); more is an error and the server replies 500 and drops the line.
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::proto {

inline constexpr size_t lmtp_max_line = 4096;
inline constexpr size_t lmtp_max_address = 512;

enum class lmtp_verb { lhlo, mail, rcpt, data, rset, noop, quit, vrfy, helo, ehlo, unknown };

struct lmtp_param {
    std::string keyword;  // upper case
    std::string value;    // raw; "" when the parameter has no "="
};

struct lmtp_command {
    lmtp_verb verb = lmtp_verb::unknown;
    std::string argument;  // LHLO domain, VRFY/NOOP text
    std::string address;   // MAIL/RCPT path without brackets, unquoted ("" for "<>")
    std::vector<lmtp_param> params;
    std::optional<std::string> param(std::string_view keyword) const;
};

struct lmtp_parse {
    bool ok = false;
    lmtp_command command;
    int code = 0;          // when !ok: the reply code (500 unknown/too long, 501 syntax)
    std::string enhanced;  // when !ok: "5.5.2", "5.5.4", "5.1.3"...
    std::string error;     // when !ok: reply text
};

// Parses one command line without its CRLF.
lmtp_parse parse_lmtp_command(std::string_view line);

// Splits the next line off the front of `buf`. Result: a line (without CR LF) and the bytes
// consumed; need_more (no LF yet, buffer within limit); or too_long (no LF within max bytes:
// discard `consumed` bytes, reply 500, and keep discarding up to the next LF).
struct lmtp_line {
    enum class kind { need_more, line, too_long } what = kind::need_more;
    std::string_view text;
    size_t consumed = 0;
};
lmtp_line take_lmtp_line(std::string_view buf, size_t max = lmtp_max_line);

// Decodes RFC 3461 xtext ("+2B" -> '+'). nullopt when malformed.
std::optional<std::string> decode_xtext(std::string_view text);

// The address in an ORCPT value "rfc822;xtext"; nullopt for other address types or bad xtext.
std::optional<std::string> orcpt_address(std::string_view value);

// "250 2.1.5 text\r\n"; CR, LF and other controls in text become '?'; text is cut at 400 bytes.
std::string lmtp_reply(int code, std::string_view enhanced, std::string_view text);

// Multi-line reply: "250-first\r\n250-...\r\n250 last\r\n" (no enhanced code: LHLO).
std::string lmtp_multiline(int code, const std::vector<std::string>& lines);

// Client side (vhostmail-deliver relaying to lmtpd): RFC 3461 xtext, the inverse of
// decode_xtext: '+', '=' and bytes outside 33..126 become "+XX".
std::string encode_xtext(std::string_view raw);

// The RFC 5321 path "<address>" of an unquoted address (as parse_lmtp_command returns it): the
// local part stays a Dot-string when it is one (atext, UTF-8 allowed for SMTPUTF8), else it is
// sent as a Quoted-string with '"' and '\\' escaped ("a b"@x). "" gives "<>".
std::string smtp_path(std::string_view address);

// One reply line without its CRLF: "250 2.1.5 text", "250-PIPELINING", "354 go ahead".
struct lmtp_reply_line {
    int code = 0;          // 200..599
    bool last = true;      // false for "code-..." continuation lines
    std::string enhanced;  // "2.1.5" when the text starts with one, else ""
    std::string text;      // after the enhanced code
};

// nullopt when the line does not start with a code 200..599 followed by SP, '-' or its end.
std::optional<lmtp_reply_line> parse_lmtp_reply(std::string_view line);

}  // namespace vhostmail::proto
