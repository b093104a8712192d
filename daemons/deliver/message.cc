// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/message.hh"

#include "lib/core/strings.hh"

namespace vhostmail::deliver {

std::vector<header_field> parse_headers(std::string_view message) {
    std::vector<header_field> out;
    std::string_view rest = message.substr(0, max_header_bytes);
    while (!rest.empty()) {
        size_t lf = rest.find('\n');
        std::string_view line = rest.substr(0, lf);
        rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (line.empty()) {
            break;
        }
        if (line.front() == ' ' || line.front() == '\t') {
            if (out.empty()) {
                break;
            }
            out.back().value += ' ';
            out.back().value += trim(line);
            continue;
        }
        size_t colon = line.find(':');
        if (colon == std::string_view::npos || colon == 0) {
            break;
        }
        std::string_view name = line.substr(0, colon);
        bool good = true;
        for (unsigned char c : name) {
            if (c <= ' ' || c >= 0x7f) {
                good = false;
            }
        }
        if (!good || out.size() >= max_headers) {
            break;
        }
        out.push_back({std::string(name), std::string(trim(line.substr(colon + 1)))});
    }
    return out;
}

std::optional<std::string> find_header(const std::vector<header_field>& headers,
                                       std::string_view name) {
    for (const auto& h : headers) {
        if (iequals(h.name, name)) {
            return h.value;
        }
    }
    return std::nullopt;
}

std::vector<std::string> header_addresses(std::string_view value) {
    std::vector<std::string> out;
    std::string current;
    std::string angle;
    bool in_quote = false;
    bool in_angle = false;
    int comment = 0;
    auto flush = [&] {
        std::string a = angle.empty() ? std::string(trim(current)) : std::string(trim(angle));
        // A group "name: a@b, c@d;" - keep what follows the colon.
        if (auto colon = a.rfind(':'); colon != std::string::npos && angle.empty()) {
            a = std::string(trim(std::string_view(a).substr(colon + 1)));
        }
        while (!a.empty() && a.back() == ';') {
            a.pop_back();
        }
        if (a.find('@') != std::string::npos && out.size() < 1000) {
            out.push_back(ascii_lower(a));
        }
        current.clear();
        angle.clear();
    };
    for (char c : value) {
        if (comment > 0) {
            comment += c == '(' ? 1 : c == ')' ? -1 : 0;
            continue;
        }
        if (in_quote) {
            in_quote = c != '"';
            continue;  // display names are not addresses
        }
        if (in_angle) {
            if (c == '>') {
                in_angle = false;
            } else {
                angle += c;
            }
            continue;
        }
        switch (c) {
            case '"':
                in_quote = true;
                break;
            case '(':
                comment = 1;
                break;
            case '<':
                in_angle = true;
                angle.clear();
                break;
            case ',':
                flush();
                break;
            case ' ':
            case '\t':
                break;
            default:
                current += c;
        }
    }
    flush();
    return out;
}

}  // namespace vhostmail::deliver
