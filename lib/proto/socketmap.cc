// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/socketmap.hh"

#include <algorithm>
#include <string>
#include <utility>

#include "lib/proto/netstring.hh"

namespace vhostmail::proto {

namespace {

bool valid_map_name(std::string_view name) {
    if (name.empty() || name.size() > socketmap_max_map_name) {
        return false;
    }
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '.' || c == '-';
    });
}

// The replacement for a reply we must not send. A max_reply below 5 cannot be honoured: the
// shortest reply Postfix understands as an error is "TEMP ".
std::string temp_reply(std::string_view reason, size_t max_reply) {
    std::string payload = "TEMP ";
    payload += reason;
    if (payload.size() > max_reply) {
        payload.resize(std::max<size_t>(max_reply, 5));
    }
    return encode_netstring(payload);
}

}  // namespace

std::string_view socketmap_status_word(socketmap_status status) {
    switch (status) {
        case socketmap_status::ok:
            return "OK";
        case socketmap_status::notfound:
            return "NOTFOUND";
        case socketmap_status::temp:
            return "TEMP";
        case socketmap_status::perm:
            return "PERM";
        case socketmap_status::timeout:
            return "TIMEOUT";
    }
    return {};
}

socketmap_parse parse_socketmap_request(std::string_view buf, size_t max_request) {
    const netstring_result ns = parse_netstring(buf, max_request);
    if (ns.what == netstring_result::kind::need_more) {
        return {};
    }
    if (ns.what == netstring_result::kind::error) {
        return socketmap_parse::failure(ns.error, 0, true);
    }
    const std::string_view payload = ns.value;
    const size_t space = payload.find(' ');
    if (space == std::string_view::npos) {
        return socketmap_parse::failure("request has no space between map name and key",
                                        ns.consumed, false);
    }
    const std::string_view map = payload.substr(0, space);
    const std::string_view key = payload.substr(space + 1);
    if (!valid_map_name(map)) {
        return socketmap_parse::failure("bad map name", ns.consumed, false);
    }
    if (key.empty()) {
        return socketmap_parse::failure("empty key", ns.consumed, false);
    }
    // Postfix keys are C strings; a NUL can only come from another client and would be cut
    // differently by every C API behind us.
    if (key.find('\0') != std::string_view::npos) {
        return socketmap_parse::failure("key contains NUL", ns.consumed, false);
    }
    return socketmap_parse::ok({std::string(map), std::string(key)}, ns.consumed);
}

std::string encode_socketmap_reply(socketmap_status status, std::string_view data,
                                   size_t max_reply) {
    const std::string_view word = socketmap_status_word(status);
    if (word.empty()) {
        return temp_reply("internal error: unknown reply status", max_reply);
    }
    if (status == socketmap_status::notfound) {
        data = {};
    }
    if (status == socketmap_status::ok) {
        // Postfix's maps_find() turns an empty value into a lookup error, and a NUL would
        // truncate the value it uses: say so plainly instead.
        if (data.empty()) {
            return temp_reply("lookup result is empty", max_reply);
        }
        if (data.find('\0') != std::string_view::npos) {
            return temp_reply("lookup result contains NUL", max_reply);
        }
    }
    const size_t payload_size = word.size() + 1 + data.size();
    if (payload_size > max_reply) {
        return temp_reply("lookup result too large (" + std::to_string(payload_size) +
                              " bytes, limit " + std::to_string(max_reply) + ")",
                          max_reply);
    }
    std::string payload;
    payload.reserve(payload_size);
    payload += word;
    payload += ' ';
    payload += data;
    return encode_netstring(payload);
}

}  // namespace vhostmail::proto
