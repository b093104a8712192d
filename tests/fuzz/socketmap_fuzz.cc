// SPDX-License-Identifier: Apache-2.0
// socketmap_fuzz.cc - libFuzzer target for lib/proto/socketmap: parses the input as a stream of
// requests the way a server loop would, and checks every reply the encoder can produce from it.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/proto/netstring.hh"
#include "lib/proto/socketmap.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::proto;

namespace {

bool valid_map_name(std::string_view map) {
    return !map.empty() && map.size() <= socketmap_max_map_name &&
           map.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789_.-") == std::string_view::npos;
}

// Consumes requests until need_more or a fatal error, as the server does.
void parse_stream(std::string_view input, size_t max_request) {
    std::string_view rest = input;
    for (;;) {
        const socketmap_parse r = parse_socketmap_request(rest, max_request);
        if (r.what == socketmap_parse::kind::need_more) {
            VHOSTMAIL_FUZZ_CHECK(r.consumed == 0 && !r.fatal);
            return;
        }
        VHOSTMAIL_FUZZ_CHECK(r.consumed <= rest.size());
        if (r.what == socketmap_parse::kind::error) {
            VHOSTMAIL_FUZZ_CHECK(!r.error.empty());
            if (r.fatal) {
                VHOSTMAIL_FUZZ_CHECK(r.consumed == 0);
                return;
            }
        } else {
            VHOSTMAIL_FUZZ_CHECK(!r.fatal);
            VHOSTMAIL_FUZZ_CHECK(valid_map_name(r.request.map));
            VHOSTMAIL_FUZZ_CHECK(!r.request.key.empty());
            VHOSTMAIL_FUZZ_CHECK(r.request.key.find('\0') == std::string::npos);
            VHOSTMAIL_FUZZ_CHECK(r.request.map.size() + 1 + r.request.key.size() <= max_request);
            VHOSTMAIL_FUZZ_CHECK(encode_netstring(r.request.map + " " + r.request.key) ==
                                 rest.substr(0, r.consumed));
        }
        // A well-framed message, good or bad, is decided by its last byte.
        VHOSTMAIL_FUZZ_CHECK(r.consumed > 0);
        VHOSTMAIL_FUZZ_CHECK(
            parse_socketmap_request(rest.substr(0, r.consumed - 1), max_request).what ==
            socketmap_parse::kind::need_more);
        rest.remove_prefix(r.consumed);
    }
}

void check_reply(socketmap_status status, std::string_view data, size_t max_reply) {
    const std::string wire = encode_socketmap_reply(status, data, max_reply);
    const size_t limit = std::max<size_t>(max_reply, 5);
    const netstring_result r = parse_netstring(wire, limit);
    VHOSTMAIL_FUZZ_CHECK(r.what == netstring_result::kind::value);
    VHOSTMAIL_FUZZ_CHECK(r.consumed == wire.size());
    const std::string_view payload = r.value;
    const std::string expected = std::string(socketmap_status_word(status)) + " " +
                                 std::string(status == socketmap_status::notfound ? "" : data);
    const bool sendable = expected.size() <= max_reply &&
                          (status != socketmap_status::ok ||
                           (!data.empty() && data.find('\0') == std::string_view::npos));
    if (sendable) {
        VHOSTMAIL_FUZZ_CHECK(payload == expected);
    } else {
        VHOSTMAIL_FUZZ_CHECK(payload.substr(0, 5) == "TEMP ");
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    parse_stream(input, socketmap_max_request);
    parse_stream(input, 24);
    for (const auto status :
         {socketmap_status::ok, socketmap_status::notfound, socketmap_status::temp,
          socketmap_status::perm, socketmap_status::timeout}) {
        check_reply(status, input, socketmap_max_reply);
        check_reply(status, input, size / 2);
    }
    return 0;
}
