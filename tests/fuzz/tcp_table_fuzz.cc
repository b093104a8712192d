// SPDX-License-Identifier: Apache-2.0
// tcp_table_fuzz.cc - libFuzzer target for lib/proto/tcp_table: parses the input as a stream of
// request lines the way a server loop would, round-trips the %XX codec and checks every reply
// line the encoder can produce from it against what Postfix's dict_tcp.c accepts.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/proto/tcp_table.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::proto;

namespace {

// Consumes request lines until need_more or a fatal error, as the server does.
void parse_stream(std::string_view input, size_t max_line) {
    std::string_view rest = input;
    for (;;) {
        const tcp_table_parse r = parse_tcp_table_request(rest, max_line);
        if (r.what == tcp_table_parse::kind::need_more) {
            VHOSTMAIL_FUZZ_CHECK(r.consumed == 0 && !r.fatal);
            VHOSTMAIL_FUZZ_CHECK(rest.size() < max_line);
            VHOSTMAIL_FUZZ_CHECK(rest.find('\n') == std::string_view::npos);
            return;
        }
        VHOSTMAIL_FUZZ_CHECK(r.consumed <= rest.size());
        if (r.what == tcp_table_parse::kind::error) {
            VHOSTMAIL_FUZZ_CHECK(!r.error.empty());
            if (r.fatal) {
                VHOSTMAIL_FUZZ_CHECK(r.consumed == 0 && rest.size() >= max_line);
                return;
            }
        } else {
            VHOSTMAIL_FUZZ_CHECK(!r.fatal);
            VHOSTMAIL_FUZZ_CHECK(!r.request.key.empty());
            VHOSTMAIL_FUZZ_CHECK(r.request.key.find('\0') == std::string::npos);
            // What Postfix would send for this key parses to the same key.
            const std::string canonical = "get " + tcp_table_encode(r.request.key) + "\n";
            const tcp_table_parse again = parse_tcp_table_request(canonical, canonical.size());
            VHOSTMAIL_FUZZ_CHECK(again.what == tcp_table_parse::kind::request);
            VHOSTMAIL_FUZZ_CHECK(again.request.key == r.request.key);
        }
        // A complete line, good or bad, is decided by its LF.
        VHOSTMAIL_FUZZ_CHECK(r.consumed > 0 && r.consumed <= max_line);
        VHOSTMAIL_FUZZ_CHECK(rest[r.consumed - 1] == '\n');
        VHOSTMAIL_FUZZ_CHECK(rest.substr(0, r.consumed - 1).find('\n') == std::string_view::npos);
        VHOSTMAIL_FUZZ_CHECK(
            parse_tcp_table_request(rest.substr(0, r.consumed - 1), max_line).what ==
            tcp_table_parse::kind::need_more);
        rest.remove_prefix(r.consumed);
    }
}

void check_codec(std::string_view input) {
    const std::string encoded = tcp_table_encode(input);
    for (const char c : encoded) {
        const auto byte = static_cast<unsigned char>(c);
        VHOSTMAIL_FUZZ_CHECK(byte > 0x20 && byte < 0x7f);
    }
    VHOSTMAIL_FUZZ_CHECK(tcp_table_decode(encoded) == input);
    const std::optional<std::string> decoded = tcp_table_decode(input);
    if (decoded) {
        VHOSTMAIL_FUZZ_CHECK(decoded->size() <= input.size());
        VHOSTMAIL_FUZZ_CHECK(tcp_table_decode(tcp_table_encode(*decoded)) == decoded);
    } else {
        VHOSTMAIL_FUZZ_CHECK(input.find('%') != std::string_view::npos);
    }
}

// The checks of dict_tcp_lookup(): 3 digits, whitespace, a decodable rest, one LF, <= the limit.
void check_reply(tcp_table_status status, std::string_view text, size_t max_reply) {
    const std::string line = encode_tcp_table_reply(status, text, max_reply);
    VHOSTMAIL_FUZZ_CHECK(line.size() >= 5 && line.size() <= std::max<size_t>(max_reply, 5));
    VHOSTMAIL_FUZZ_CHECK(line.find('\n') == line.size() - 1);
    const std::string_view code = std::string_view(line).substr(0, 3);
    VHOSTMAIL_FUZZ_CHECK(code == "200" || code == "400" || code == "500");
    VHOSTMAIL_FUZZ_CHECK(line[3] == ' ');
    const std::optional<std::string> decoded =
        tcp_table_decode(std::string_view(line).substr(4, line.size() - 5));
    VHOSTMAIL_FUZZ_CHECK(decoded.has_value());
    const std::string wanted_code = std::to_string(static_cast<int>(status));
    const bool sendable = 4 + tcp_table_encode(text).size() + 1 <= max_reply &&
                          (status != tcp_table_status::ok ||
                           (!text.empty() && text.find('\0') == std::string_view::npos));
    if (sendable) {
        VHOSTMAIL_FUZZ_CHECK(code == wanted_code);
        VHOSTMAIL_FUZZ_CHECK(*decoded == text);
    } else {
        VHOSTMAIL_FUZZ_CHECK(code == "400");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    parse_stream(input, tcp_table_max_request);
    parse_stream(input, 32);
    parse_stream(input, 1);
    check_codec(input);
    for (const auto status :
         {tcp_table_status::ok, tcp_table_status::not_found, tcp_table_status::temp}) {
        check_reply(status, input, tcp_table_max_reply);
        check_reply(status, input, size);
    }
    return 0;
}
