// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/tcp_table.hh"

#include <string>
#include <utility>

#include "lib/core/encoding.hh"

namespace vhostmail::proto {

namespace {

// hex_quote(): '%', isspace() in the C locale (TAB..CR, SP), !isprint() and non-ASCII.
bool needs_encoding(unsigned char c) {
    return c == '%' || c <= 0x20 || c >= 0x7f;
}

std::string reply_line(int code, std::string_view encoded_text) {
    std::string line = std::to_string(code);
    line.reserve(line.size() + encoded_text.size() + 2);
    line += ' ';
    line += encoded_text;
    line += '\n';
    return line;
}

// The replacement for a reply we must not send. Cutting an encoded text could split a %XX
// escape (a malformed reply), so the reason is cut before encoding, at the longest prefix whose
// encoding still fits.
std::string temp_reply(std::string_view reason, size_t max_reply) {
    constexpr size_t overhead = 5;  // "400 " and LF
    const size_t budget = max_reply > overhead ? max_reply - overhead : 0;
    size_t encoded_size = 0;
    size_t keep = 0;
    for (; keep < reason.size(); ++keep) {
        const size_t width = needs_encoding(static_cast<unsigned char>(reason[keep])) ? 3 : 1;
        if (encoded_size + width > budget) {
            break;
        }
        encoded_size += width;
    }
    return reply_line(400, tcp_table_encode(reason.substr(0, keep)));
}

}  // namespace

tcp_table_parse parse_tcp_table_request(std::string_view buf, size_t max_line) {
    const size_t lf = buf.substr(0, max_line).find('\n');
    if (lf == std::string_view::npos) {
        if (buf.size() >= max_line) {
            return tcp_table_parse::failure(
                "request line longer than " + std::to_string(max_line) + " bytes", 0, true);
        }
        return {};
    }
    const size_t consumed = lf + 1;
    std::string_view line = buf.substr(0, lf);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    const size_t space = line.find(' ');
    const std::string_view command = line.substr(0, space);
    if (command == "put") {
        return tcp_table_parse::failure("put is not implemented: the table is read-only", consumed,
                                        false);
    }
    if (command != "get") {
        return tcp_table_parse::failure(line.empty() ? "empty request line" : "unknown command",
                                        consumed, false);
    }
    if (space == std::string_view::npos) {
        return tcp_table_parse::failure("get without a key", consumed, false);
    }
    std::optional<std::string> key = tcp_table_decode(line.substr(space + 1));
    if (!key) {
        return tcp_table_parse::failure("malformed %XX escape in key", consumed, false);
    }
    if (key->empty()) {
        return tcp_table_parse::failure("empty key", consumed, false);
    }
    // Postfix keys are C strings; "%00" can only come from another client.
    if (key->find('\0') != std::string::npos) {
        return tcp_table_parse::failure("key contains NUL", consumed, false);
    }
    return tcp_table_parse::ok({std::move(*key)}, consumed);
}

std::string encode_tcp_table_reply(tcp_table_status status, std::string_view text,
                                   size_t max_reply) {
    switch (status) {
        case tcp_table_status::ok:
            // maps_find() fails the lookup on an empty value; "%00" would truncate it.
            if (text.empty()) {
                return temp_reply("lookup result is empty", max_reply);
            }
            if (text.find('\0') != std::string_view::npos) {
                return temp_reply("lookup result contains NUL", max_reply);
            }
            break;
        case tcp_table_status::not_found:
        case tcp_table_status::temp:
            break;
        default:
            return temp_reply("internal error: unknown reply status", max_reply);
    }
    std::string line = reply_line(static_cast<int>(status), tcp_table_encode(text));
    if (line.size() > max_reply) {
        return temp_reply("lookup result too large (" + std::to_string(line.size()) +
                              " bytes, limit " + std::to_string(max_reply) + ")",
                          max_reply);
    }
    return line;
}

std::string tcp_table_encode(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    for (const char c : raw) {
        const auto byte = static_cast<unsigned char>(c);
        if (needs_encoding(byte)) {
            out += '%';
            out += hex_digit(byte >> 4, true);
            out += hex_digit(byte, true);
        } else {
            out += c;
        }
    }
    return out;
}

std::optional<std::string> tcp_table_decode(std::string_view encoded) {
    std::string out;
    out.reserve(encoded.size());
    for (size_t i = 0; i < encoded.size(); ++i) {
        if (encoded[i] != '%') {
            out += encoded[i];
            continue;
        }
        if (encoded.size() - i < 3) {
            return std::nullopt;
        }
        const int high = hex_digit_value(encoded[i + 1]);
        const int low = hex_digit_value(encoded[i + 2]);
        if (high < 0 || low < 0) {
            return std::nullopt;
        }
        out += static_cast<char>((high << 4) | low);
        i += 2;
    }
    return out;
}

bool tcp_table_answer_fits(std::string_view value, size_t max_reply) {
    return !encode_tcp_table_reply(tcp_table_status::ok, value, max_reply).starts_with("400 ");
}

}  // namespace vhostmail::proto
