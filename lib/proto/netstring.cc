// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/netstring.hh"

#include <string>
#include <utility>

namespace vhostmail::proto {

namespace {

netstring_result netstring_error(std::string reason) {
    netstring_result r;
    r.what = netstring_result::kind::error;
    r.error = std::move(reason);
    return r;
}

}  // namespace

netstring_result parse_netstring(std::string_view buf, size_t max_length) {
    size_t length = 0;
    size_t pos = 0;
    for (; pos < buf.size() && buf[pos] != ':'; ++pos) {
        const char c = buf[pos];
        if (c < '0' || c > '9') {
            return netstring_error("netstring length is not a decimal number");
        }
        if (pos == 1 && buf[0] == '0') {
            return netstring_error("netstring length has a leading zero");
        }
        // Written so that nothing can wrap, whatever max_length is.
        const auto digit = static_cast<size_t>(c - '0');
        if (length > max_length / 10) {
            return netstring_error("netstring length exceeds " + std::to_string(max_length));
        }
        length *= 10;
        if (digit > max_length - length) {
            return netstring_error("netstring length exceeds " + std::to_string(max_length));
        }
        length += digit;
    }
    if (pos == buf.size()) {
        return {};
    }
    if (pos == 0) {
        return netstring_error("netstring length is empty");
    }
    const size_t start = pos + 1;
    const size_t available = buf.size() - start;
    if (available < length || available - length < 1) {
        return {};
    }
    if (buf[start + length] != ',') {
        return netstring_error("netstring does not end with ','");
    }
    netstring_result r;
    r.what = netstring_result::kind::value;
    r.value = buf.substr(start, length);
    r.consumed = start + length + 1;
    return r;
}

std::string encode_netstring(std::string_view payload) {
    std::string out = std::to_string(payload.size());
    out.reserve(out.size() + payload.size() + 2);
    out += ':';
    out += payload;
    out += ',';
    return out;
}

}  // namespace vhostmail::proto
