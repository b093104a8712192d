// SPDX-License-Identifier: Apache-2.0
// http_request.hh - the little of HTTP/1.1 (RFC 9112) a metrics endpoint needs, server side:
// the head of one request, and a response that closes the connection. Pure: no I/O, no logging.
// Wire:
//   request  = method SP target SP "HTTP/1." DIGIT CRLF *( field-name ":" OWS value OWS CRLF )
//              CRLF                        ; bare LF accepted for CRLF (RFC 9112 section 2.2)
//   response = "HTTP/1.1" SP 3DIGIT SP reason CRLF headers CRLF body ; Connection: close
// One request per connection: a request with a body (Content-Length other than 0, or any
// Transfer-Encoding) is refused, so nothing after the head is ever read. Refused too: field
// lines folded over several lines (obs-fold), a field name that is not a token, a space before
// the colon, an HTTP/1.1 request without exactly one Host (RFC 9112 section 3.2), control
// characters anywhere in the head.
// Limits: the head, blank line included, is at most http_max_head bytes (8192, what common
// servers allow) and http_max_fields field lines.
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "lib/proto/parsed.hh"

namespace vhostmail::proto {

inline constexpr size_t http_max_head = 8192;
inline constexpr size_t http_max_fields = 100;

struct http_request {
    std::string method;     // case-sensitive token: "GET", "HEAD", ...
    std::string target;     // origin-form as sent, e.g. "/metrics?x=1"
    int minor_version = 1;  // HTTP/1.<minor>

    // The target's path: up to '?' or '#'.
    std::string_view path() const;
};

// Every error is fatal (the connection closes after the refusal). consumed is 0 when no end
// of the head came within max_head bytes (encode_http_refusal answers 431), else the head's
// length (400).
using http_parse = parsed<http_request>;

http_parse parse_http_request(std::string_view buf, size_t max_head = http_max_head);

// A complete response: status line, Content-Type (when a body type is given), Content-Length,
// Connection: close, `extra_headers` (each "Name: value\r\n", trusted), then the body unless
// `head_only` (a HEAD request: the same headers, no body).
std::string encode_http_response(int status, std::string_view content_type, std::string_view body,
                                 bool head_only = false, std::string_view extra_headers = "");

// The response to a request that did not parse: 431 for a head too large, else 400, with the
// reason as a text/plain body.
std::string encode_http_refusal(const http_parse& p);

// The client's side, for a tool reading a metrics endpoint: a whole response, read until the
// server closed the connection. Accepted: a status line "HTTP/1.x NNN reason", field lines, a
// blank line (CRLF or LF), and a body exactly as long as Content-Length says when it is given;
// not accepted: Transfer-Encoding (our servers never send it) and a head over http_max_head.
struct http_response {
    int status = 0;
    std::string content_type;  // "" when none
    std::string_view body;     // a view into the parsed text
};

// The response, or nullopt with `error` set.
std::optional<http_response> parse_http_response(std::string_view raw, std::string& error);

}  // namespace vhostmail::proto
