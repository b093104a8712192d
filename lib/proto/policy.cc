// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/policy.hh"

#include <cstdint>

#include "lib/core/strings.hh"

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
        size_t n = utf8_sequence_length(action, i);
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
