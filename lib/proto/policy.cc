// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/policy.hh"

#include <cstdint>

namespace vhostmail::proto {

std::string_view policy_request::get(std::string_view name) const {
    for (const auto& [n, v] : attributes) {
        if (n == name) {
            return v;
        }
    }
    return {};
}

bool policy_request::has(std::string_view name) const {
    for (const auto& attr : attributes) {
        if (attr.first == name) {
            return true;
        }
    }
    return false;
}

policy_parse parse_policy_request(std::string_view buf, size_t max_request,
                                  size_t max_attributes) {
    policy_parse out;
    std::string first_error;  // the request is answered once its blank line is seen
    size_t pos = 0;
    while (true) {
        size_t lf = buf.find('\n', pos);
        if (lf == std::string_view::npos || lf >= max_request) {
            if (buf.size() >= max_request) {
                out.what = policy_parse::kind::error;
                out.error = "policy request longer than " + std::to_string(max_request) + " bytes";
                out.fatal = true;
            }
            out.request = {};  // need_more and fatal errors carry no attributes
            return out;
        }
        std::string_view line = buf.substr(pos, lf - pos);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        pos = lf + 1;
        if (line.empty()) {
            break;
        }
        if (!first_error.empty()) {
            continue;
        }
        size_t eq = line.find('=');
        if (line.find('\0') != std::string_view::npos) {
            first_error = "NUL byte in policy request";
        } else if (eq == std::string_view::npos) {
            first_error = "policy request line without '='";
        } else if (eq == 0) {
            first_error = "policy request attribute without a name";
        } else if (out.request.attributes.size() >= max_attributes) {
            first_error = "more than " + std::to_string(max_attributes) + " policy attributes";
        } else {
            out.request.attributes.emplace_back(std::string(line.substr(0, eq)),
                                                std::string(line.substr(eq + 1)));
        }
    }
    out.consumed = pos;
    if (first_error.empty()) {
        if (out.request.attributes.empty()) {
            first_error = "empty policy request";
        } else if (out.request.get("request") != "smtpd_access_policy") {
            first_error = "not an smtpd_access_policy request";
        }
    }
    if (!first_error.empty()) {
        out.what = policy_parse::kind::error;
        out.error = std::move(first_error);
        out.request = {};
        return out;
    }
    out.what = policy_parse::kind::request;
    return out;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF).
size_t utf8_sequence(std::string_view s, size_t i) {
    auto byte = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
    uint8_t b = byte(i);
    size_t n;
    uint8_t lo = 0x80, hi = 0xbf;
    if (b < 0x80) {
        return 1;
    } else if (b >= 0xc2 && b <= 0xdf) {
        n = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        n = 3;
        if (b == 0xe0) lo = 0xa0;
        if (b == 0xed) hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        n = 4;
        if (b == 0xf0) lo = 0x90;
        if (b == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (i + n > s.size()) {
        return 0;
    }
    if (byte(i + 1) < lo || byte(i + 1) > hi) {
        return 0;
    }
    for (size_t k = 2; k < n; ++k) {
        if (byte(i + k) < 0x80 || byte(i + k) > 0xbf) {
            return 0;
        }
    }
    return n;
}

}  // namespace

std::string encode_policy_reply(std::string_view action) {
    std::string out = "action=";
    out.reserve(action.size() + 9);
    for (size_t i = 0; i < action.size();) {
        auto b = static_cast<uint8_t>(action[i]);
        if (b < 0x20 || b == 0x7f) {
            out += ' ';
            ++i;
            continue;
        }
        size_t n = utf8_sequence(action, i);
        if (n == 0) {
            out += '?';
            ++i;
            continue;
        }
        out.append(action.substr(i, n));
        i += n;
    }
    out += "\n\n";
    return out;
}

}  // namespace vhostmail::proto
