// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/http_request.hh"

#include <vector>

#include "lib/core/strings.hh"

namespace vhostmail::proto {

namespace {

// RFC 9110 section 5.6.2: tchar.
bool is_tchar(unsigned char c) {
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
        return true;
    }
    return std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (unsigned char c : s) {
        if (!is_tchar(c)) {
            return false;
        }
    }
    return true;
}

// Field values and targets: no control character but HTAB (bytes >= 0x80 are obs-text).
bool has_control(std::string_view s, bool tab_allowed) {
    for (unsigned char c : s) {
        if ((c < 0x20 && !(tab_allowed && c == '\t')) || c == 0x7f) {
            return true;
        }
    }
    return false;
}

std::string_view trim_ows(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

std::string_view reason_phrase(int status) {
    switch (status) {
        case 200:
            return "OK";
        case 400:
            return "Bad Request";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 431:
            return "Request Header Fields Too Large";
        case 500:
            return "Internal Server Error";
        case 503:
            return "Service Unavailable";
        default:
            return "Unknown";
    }
}

// The request line and fields of a complete head (lines without their line ends).
http_parse parse_lines(const std::vector<std::string_view>& lines, size_t consumed) {
    auto refuse = [&](std::string why) {
        return http_parse::failure(std::move(why), consumed, true);
    };
    std::string_view line = lines.front();
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        return refuse("the request line is not: method target version");
    }
    http_request r;
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method)) {
        return refuse("the method is not a token");
    }
    if (target.empty() || target.front() != '/' || has_control(target, false)) {
        return refuse("the request target is not a path");
    }
    if (version.size() != 8 || version.substr(0, 7) != "HTTP/1." || version[7] < '0' ||
        version[7] > '9') {
        return refuse("not an HTTP/1.x request");
    }
    r.method = std::string(method);
    r.target = std::string(target);
    r.minor_version = version[7] - '0';

    size_t hosts = 0;
    std::string_view content_length;
    for (size_t i = 1; i < lines.size(); ++i) {
        std::string_view field = lines[i];
        if (field.front() == ' ' || field.front() == '\t') {
            return refuse("a field line is folded (obs-fold)");
        }
        size_t colon = field.find(':');
        if (colon == std::string_view::npos || !is_token(field.substr(0, colon))) {
            return refuse("a field line is not: name \":\" value");
        }
        std::string_view name = field.substr(0, colon);
        std::string_view value = trim_ows(field.substr(colon + 1));
        if (has_control(value, true)) {
            return refuse("a field value holds a control character");
        }
        if (iequals(name, "Host")) {
            ++hosts;
        } else if (iequals(name, "Transfer-Encoding")) {
            return refuse("a request body is not accepted");
        } else if (iequals(name, "Content-Length")) {
            if (value.empty() || value.find_first_not_of("0123456789") != std::string_view::npos ||
                (!content_length.empty() && content_length != value)) {
                return refuse("the Content-Length is not one number");
            }
            content_length = value;
        }
    }
    if (!content_length.empty() &&
        content_length.find_first_not_of('0') != std::string_view::npos) {
        return refuse("a request body is not accepted");
    }
    if (r.minor_version >= 1 && hosts != 1) {
        return refuse("an HTTP/1.1 request needs exactly one Host field");
    }
    return http_parse::ok(std::move(r), consumed);
}

}  // namespace

std::string_view http_request::path() const {
    std::string_view t = target;
    return t.substr(0, t.find_first_of("?#"));
}

http_parse parse_http_request(std::string_view buf, size_t max_head) {
    std::vector<std::string_view> lines;
    size_t at = 0;
    for (;;) {
        size_t lf = buf.find('\n', at);
        if (lf == std::string_view::npos || lf >= max_head) {
            if (buf.size() >= max_head) {
                return http_parse::failure(
                    "the request head is longer than " + std::to_string(max_head) + " bytes", 0,
                    true);
            }
            return http_parse::need_more();
        }
        std::string_view line = buf.substr(at, lf - at);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        at = lf + 1;
        if (line.empty()) {
            if (lines.empty()) {
                continue;  // empty lines before the request line are ignored (RFC 9112 2.2)
            }
            return parse_lines(lines, at);
        }
        if (lines.size() > http_max_fields) {
            return http_parse::failure(
                "more than " + std::to_string(http_max_fields) + " field lines", at, true);
        }
        if (line.find('\r') != std::string_view::npos) {
            return http_parse::failure("a bare CR in the request head", at, true);
        }
        lines.push_back(line);
    }
}

std::string encode_http_response(int status, std::string_view content_type, std::string_view body,
                                 bool head_only, std::string_view extra_headers) {
    std::string out = "HTTP/1.1 " + std::to_string(status) + " ";
    out += reason_phrase(status);
    out += "\r\n";
    if (!content_type.empty()) {
        out += "Content-Type: ";
        out += content_type;
        out += "\r\n";
    }
    out += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n";
    out += extra_headers;
    out += "\r\n";
    if (!head_only) {
        out += body;
    }
    return out;
}

std::string encode_http_refusal(const http_parse& p) {
    int status = p.consumed == 0 ? 431 : 400;
    return encode_http_response(status, "text/plain; charset=utf-8", p.error + "\n");
}

std::optional<http_response> parse_http_response(std::string_view raw, std::string& error) {
    size_t end = raw.find("\n\n");
    size_t crlf_end = raw.find("\r\n\r\n");
    size_t body_at = std::string_view::npos;
    if (crlf_end != std::string_view::npos && (end == std::string_view::npos || crlf_end < end)) {
        body_at = crlf_end + 4;
    } else if (end != std::string_view::npos) {
        body_at = end + 2;
    }
    if (body_at == std::string_view::npos || body_at > http_max_head) {
        error = body_at == std::string_view::npos ? "the response ends inside its head"
                                                  : "the response head is too long";
        return std::nullopt;
    }
    std::vector<std::string_view> lines;
    for (std::string_view head = raw.substr(0, body_at); !head.empty();) {
        size_t lf = head.find('\n');
        std::string_view line = head.substr(0, lf);
        head.remove_prefix(lf + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (!line.empty()) {
            lines.push_back(line);
        }
    }
    std::string_view status_line = lines.empty() ? std::string_view() : lines.front();
    if (status_line.size() < 12 || !status_line.starts_with("HTTP/1.") || status_line[8] != ' ' ||
        status_line.substr(9, 3).find_first_not_of("0123456789") != std::string_view::npos ||
        (status_line.size() > 12 && status_line[12] != ' ')) {
        error = "not an HTTP/1.x status line";
        return std::nullopt;
    }
    http_response r;
    r.status = std::stoi(std::string(status_line.substr(9, 3)));
    r.body = raw.substr(body_at);
    for (size_t i = 1; i < lines.size(); ++i) {
        size_t colon = lines[i].find(':');
        if (colon == std::string_view::npos || !is_token(lines[i].substr(0, colon))) {
            error = "a field line is not: name \":\" value";
            return std::nullopt;
        }
        std::string_view name = lines[i].substr(0, colon);
        std::string_view value = trim_ows(lines[i].substr(colon + 1));
        if (iequals(name, "Transfer-Encoding")) {
            error = "a Transfer-Encoding is not read";
            return std::nullopt;
        }
        if (iequals(name, "Content-Type")) {
            r.content_type = std::string(value);
        } else if (iequals(name, "Content-Length")) {
            if (value.empty() || value.size() > 12 ||
                value.find_first_not_of("0123456789") != std::string_view::npos ||
                std::stoull(std::string(value)) != r.body.size()) {
                error = "the body is not as long as its Content-Length";
                return std::nullopt;
            }
        }
    }
    return r;
}

}  // namespace vhostmail::proto
