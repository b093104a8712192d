// SPDX-License-Identifier: Apache-2.0
// settings.cc - host list entries and timeout conversion.
#include "lib/db/settings.hh"

#include <charconv>

namespace vhostmail::db {

namespace {

bool parse_port(std::string_view text, unsigned& port) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), p);
    if (text.empty() || ec != std::errc() || ptr != text.data() + text.size() || p == 0 ||
        p > 65535) {
        return false;
    }
    port = p;
    return true;
}

}  // namespace

std::optional<host_spec> parse_host(std::string_view text) {
    host_spec out;
    out.text = std::string(text);
    std::string_view rest = text;
    if (rest.starts_with("unix:")) {
        rest.remove_prefix(5);
        if (rest.empty()) {
            return std::nullopt;
        }
        out.socket = std::string(rest);
        return out;
    }
    if (rest.starts_with("/")) {
        out.socket = std::string(rest);
        return out;
    }
    if (rest.starts_with("inet:")) {
        rest.remove_prefix(5);
    }
    if (rest.empty()) {
        return std::nullopt;
    }
    if (rest.front() == '[') {
        size_t close = rest.find(']');
        if (close == std::string_view::npos || close == 1) {
            return std::nullopt;
        }
        out.host = std::string(rest.substr(1, close - 1));
        std::string_view after = rest.substr(close + 1);
        if (after.empty()) {
            return out;
        }
        if (after.front() != ':' || !parse_port(after.substr(1), out.port)) {
            return std::nullopt;
        }
        return out;
    }
    size_t colon = rest.find(':');
    if (colon == std::string_view::npos) {
        out.host = std::string(rest);
        return out;
    }
    if (colon == 0 || rest.find(':', colon + 1) != std::string_view::npos ||
        !parse_port(rest.substr(colon + 1), out.port)) {
        return std::nullopt;  // also bare IPv6 without brackets: ambiguous
    }
    out.host = std::string(rest.substr(0, colon));
    return out;
}

unsigned timeout_seconds(std::chrono::milliseconds ms) {
    if (ms.count() <= 1000) {
        return 1;
    }
    auto s = (ms.count() + 999) / 1000;
    return s > 86400 ? 86400u : static_cast<unsigned>(s);
}

}  // namespace vhostmail::db
