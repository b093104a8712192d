// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/lmtp.hh"

#include "lib/core/dsn.hh"
#include "lib/core/strings.hh"

namespace vhostmail::proto {

namespace {

lmtp_parse fail(dsn::status status, std::string text) {
    lmtp_parse p;
    p.code = status.code;
    p.enhanced = std::string(status.enhanced);
    p.error = std::move(text);
    return p;
}

struct verb_name {
    std::string_view name;
    lmtp_verb verb;
};

constexpr verb_name verbs[] = {
    {"LHLO", lmtp_verb::lhlo}, {"MAIL", lmtp_verb::mail}, {"RCPT", lmtp_verb::rcpt},
    {"DATA", lmtp_verb::data}, {"RSET", lmtp_verb::rset}, {"NOOP", lmtp_verb::noop},
    {"QUIT", lmtp_verb::quit}, {"VRFY", lmtp_verb::vrfy}, {"HELO", lmtp_verb::helo},
    {"EHLO", lmtp_verb::ehlo},
};

// Parses "<path>" at the front of s; returns the address (unquoted) and the rest.
bool parse_path(std::string_view& s, std::string& address, std::string& why) {
    if (s.empty() || s.front() != '<') {
        why = "path must be in <angle brackets>";
        return false;
    }
    s.remove_prefix(1);
    // A-d-l source route: "@a,@b:" is ignored (RFC 5321 4.1.2).
    if (!s.empty() && s.front() == '@') {
        size_t colon = s.find(':');
        if (colon == std::string_view::npos) {
            why = "bad source route";
            return false;
        }
        s.remove_prefix(colon + 1);
    }
    address.clear();
    bool quoted = false;
    while (true) {
        if (s.empty()) {
            why = "missing \">\"";
            return false;
        }
        char c = s.front();
        s.remove_prefix(1);
        if (quoted) {
            if (c == '\\') {
                if (s.empty()) {
                    why = "bad quoting";
                    return false;
                }
                address += s.front();
                s.remove_prefix(1);
            } else if (c == '"') {
                quoted = false;
            } else {
                address += c;
            }
        } else if (c == '"') {
            quoted = true;
        } else if (c == '>') {
            break;
        } else if (c == ' ' || c == '<') {
            why = "bad character in path";
            return false;
        } else {
            address += c;
        }
        if (address.size() > lmtp_max_address) {
            why = "address too long";
            return false;
        }
    }
    for (unsigned char c : address) {
        if (c < 0x20 || c == 0x7f) {
            why = "control character in address";
            return false;
        }
    }
    return true;
}

bool parse_params(std::string_view s, std::vector<lmtp_param>& out, std::string& why) {
    for (const auto& word : split_list(s, " ")) {
        lmtp_param p;
        auto eq = word.find('=');
        std::string key = word.substr(0, eq);
        if (key.empty()) {
            why = "empty parameter keyword";
            return false;
        }
        for (char& c : key) {
            if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '-')) {
                why = "bad parameter keyword";
                return false;
            }
            if (c >= 'a' && c <= 'z') {
                c = static_cast<char>(c - 'a' + 'A');
            }
        }
        p.keyword = std::move(key);
        if (eq != std::string::npos) {
            p.value = word.substr(eq + 1);
        }
        if (out.size() >= 16) {
            why = "too many parameters";
            return false;
        }
        out.push_back(std::move(p));
    }
    return true;
}

}  // namespace

std::optional<std::string> lmtp_command::param(std::string_view keyword) const {
    for (const auto& p : params) {
        if (iequals(p.keyword, keyword)) {
            return p.value;
        }
    }
    return std::nullopt;
}

lmtp_parse parse_lmtp_command(std::string_view line) {
    if (line.size() > lmtp_max_line) {
        return fail(dsn::bad_syntax, "Line too long");
    }
    for (unsigned char c : line) {
        if (c == 0 || c == '\r' || c == '\n') {
            return fail(dsn::bad_syntax, "Invalid character in command");
        }
    }
    std::string_view name = line.substr(0, line.find(' '));
    std::string_view rest = line.substr(name.size());
    lmtp_parse p;
    p.command.verb = lmtp_verb::unknown;
    for (const auto& v : verbs) {
        if (iequals(name, v.name)) {
            p.command.verb = v.verb;
        }
    }
    std::string why;
    switch (p.command.verb) {
        case lmtp_verb::unknown:
            return fail(dsn::bad_syntax, "Command unrecognized");
        case lmtp_verb::helo:
        case lmtp_verb::ehlo:
            return fail(dsn::wrong_protocol, "This is LMTP: use LHLO");
        case lmtp_verb::lhlo:
            p.command.argument = std::string(trim(rest));
            if (p.command.argument.empty()) {
                return fail(dsn::bad_arguments, "LHLO needs a domain");
            }
            break;
        case lmtp_verb::mail:
        case lmtp_verb::rcpt: {
            std::string_view prefix = p.command.verb == lmtp_verb::mail ? " FROM:" : " TO:";
            if (!starts_with_icase(rest, prefix)) {
                return fail(dsn::bad_arguments, p.command.verb == lmtp_verb::mail
                                                    ? "Syntax: MAIL FROM:<address>"
                                                    : "Syntax: RCPT TO:<address>");
            }
            rest.remove_prefix(prefix.size());
            while (!rest.empty() && rest.front() == ' ') {
                rest.remove_prefix(1);
            }
            if (!parse_path(rest, p.command.address, why) ||
                !parse_params(rest, p.command.params, why)) {
                return fail(dsn::bad_arguments, why);
            }
            if (p.command.verb == lmtp_verb::rcpt && p.command.address.empty()) {
                return fail(dsn::bad_address, "Empty recipient address");
            }
            break;
        }
        case lmtp_verb::data:
        case lmtp_verb::rset:
        case lmtp_verb::quit:
            if (!trim(rest).empty()) {
                return fail(dsn::bad_arguments, "No parameters allowed");
            }
            break;
        case lmtp_verb::noop:
        case lmtp_verb::vrfy:
            p.command.argument = std::string(trim(rest));
            break;
    }
    p.ok = true;
    return p;
}

lmtp_line take_lmtp_line(std::string_view buf, size_t max) {
    lmtp_line l;
    size_t lf = buf.find('\n');
    if (lf == std::string_view::npos) {
        if (buf.size() > max) {
            l.what = lmtp_line::kind::too_long;
            l.consumed = buf.size();
        }
        return l;
    }
    if (lf > max + 1) {
        l.what = lmtp_line::kind::too_long;
        l.consumed = lf + 1;
        return l;
    }
    l.what = lmtp_line::kind::line;
    l.consumed = lf + 1;
    l.text = buf.substr(0, lf);
    if (!l.text.empty() && l.text.back() == '\r') {
        l.text.remove_suffix(1);
    }
    return l;
}

std::optional<std::string> decode_xtext(std::string_view text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c != '+') {
            if (c < '!' || c > '~' || c == '=') {
                return std::nullopt;
            }
            out += c;
            continue;
        }
        if (i + 2 >= text.size()) {
            return std::nullopt;
        }
        auto hex = [](char h) -> int {
            if (h >= '0' && h <= '9') {
                return h - '0';
            }
            if (h >= 'A' && h <= 'F') {
                return h - 'A' + 10;
            }
            return -1;
        };
        int hi = hex(text[i + 1]);
        int lo = hex(text[i + 2]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

std::optional<std::string> orcpt_address(std::string_view value) {
    auto semi = value.find(';');
    if (semi == std::string_view::npos || !iequals(value.substr(0, semi), "rfc822")) {
        return std::nullopt;
    }
    auto decoded = decode_xtext(value.substr(semi + 1));
    if (!decoded || decoded->empty()) {
        return std::nullopt;
    }
    for (unsigned char c : *decoded) {
        if (c < 0x20 || c == 0x7f) {
            return std::nullopt;
        }
    }
    return decoded;
}

std::string lmtp_reply(int code, std::string_view enhanced, std::string_view text) {
    std::string out = std::to_string(code);
    out += ' ';
    if (!enhanced.empty()) {
        out += enhanced;
        out += ' ';
    }
    out += printable(text.substr(0, 400));
    out += "\r\n";
    return out;
}

std::string lmtp_multiline(int code, const std::vector<std::string>& lines) {
    std::string out;
    for (size_t i = 0; i < lines.size(); ++i) {
        out += std::to_string(code);
        out += i + 1 == lines.size() ? ' ' : '-';
        out += printable(lines[i]);
        out += "\r\n";
    }
    return out;
}

std::string encode_xtext(std::string_view raw) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(raw.size());
    for (char ch : raw) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 33 || c > 126 || c == '+' || c == '=') {
            out += '+';
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += ch;
        }
    }
    return out;
}

namespace {

// "d.d.d" with 1-3 digits per part (RFC 3463), followed by the end or a space.
size_t enhanced_code_length(std::string_view t) {
    size_t i = 0;
    for (int part = 0; part < 3; ++part) {
        size_t start = i;
        while (i < t.size() && i - start < 3 && t[i] >= '0' && t[i] <= '9') {
            ++i;
        }
        if (i == start || (part < 2 && (i >= t.size() || t[i] != '.'))) {
            return 0;
        }
        if (part < 2) {
            ++i;
        }
    }
    return i == t.size() || t[i] == ' ' ? i : 0;
}

}  // namespace

std::optional<lmtp_reply_line> parse_lmtp_reply(std::string_view line) {
    if (line.size() < 3 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
        line[2] < '0' || line[2] > '9') {
        return std::nullopt;
    }
    lmtp_reply_line r;
    r.code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (line.size() > 3 && line[3] != ' ' && line[3] != '-') {
        return std::nullopt;
    }
    r.last = line.size() == 3 || line[3] == ' ';
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
    if (size_t n = enhanced_code_length(text)) {
        r.enhanced = std::string(text.substr(0, n));
        text.remove_prefix(std::min(n + 1, text.size()));
    }
    r.text = std::string(text);
    return r;
}

namespace {

// RFC 5322 atext, plus any byte of a UTF-8 sequence (RFC 6531 extends atext to UTF8-non-ascii).
bool atext(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80 ||
           std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
               std::string_view::npos;
}

bool dot_string(std::string_view local) {
    if (local.empty() || local.front() == '.' || local.back() == '.' ||
        local.find("..") != std::string_view::npos) {
        return false;
    }
    for (unsigned char c : local) {
        if (c != '.' && !atext(c)) {
            return false;
        }
    }
    return true;
}

}  // namespace

std::string smtp_path(std::string_view address) {
    if (address.empty()) {
        return "<>";
    }
    auto at = address.rfind('@');
    std::string_view local = at == std::string_view::npos ? address : address.substr(0, at);
    std::string_view rest = at == std::string_view::npos ? std::string_view() : address.substr(at);
    std::string out = "<";
    if (dot_string(local)) {
        out += local;
    } else {
        out += '"';
        for (char c : local) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    out += rest;
    out += '>';
    return out;
}

}  // namespace vhostmail::proto
