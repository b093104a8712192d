// SPDX-License-Identifier: Apache-2.0
// netstring_fuzz.cc - libFuzzer target for lib/proto/netstring: parses the input as a stream of
// netstrings under several limits and round-trips it through the encoder.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "lib/proto/netstring.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::proto;

namespace {

void parse_stream(std::string_view input, size_t max_length) {
    std::string_view rest = input;
    for (;;) {
        const netstring_result r = parse_netstring(rest, max_length);
        if (r.what == netstring_result::kind::need_more) {
            VHOSTMAIL_FUZZ_CHECK(r.consumed == 0);
            return;
        }
        if (r.what == netstring_result::kind::error) {
            VHOSTMAIL_FUZZ_CHECK(!r.error.empty());
            VHOSTMAIL_FUZZ_CHECK(r.consumed == 0);
            return;
        }
        VHOSTMAIL_FUZZ_CHECK(r.consumed > 0 && r.consumed <= rest.size());
        VHOSTMAIL_FUZZ_CHECK(r.value.size() <= max_length);
        VHOSTMAIL_FUZZ_CHECK(r.value.size() + 3 <= r.consumed);
        // The payload is a view into the input, just before the ','.
        VHOSTMAIL_FUZZ_CHECK(r.value.data() + r.value.size() + 1 == rest.data() + r.consumed);
        VHOSTMAIL_FUZZ_CHECK(rest[r.consumed - 1] == ',');
        // Only canonical netstrings are accepted, so re-encoding gives back the same bytes.
        VHOSTMAIL_FUZZ_CHECK(encode_netstring(r.value) == rest.substr(0, r.consumed));
        // One byte less is not yet decidable.
        VHOSTMAIL_FUZZ_CHECK(parse_netstring(rest.substr(0, r.consumed - 1), max_length).what ==
                             netstring_result::kind::need_more);
        rest.remove_prefix(r.consumed);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    for (const size_t max_length :
         {size_t{100000}, size_t{16}, size_t{0}, std::numeric_limits<size_t>::max()}) {
        parse_stream(input, max_length);
    }
    const std::string wire = encode_netstring(input);
    const netstring_result r = parse_netstring(wire, input.size());
    VHOSTMAIL_FUZZ_CHECK(r.what == netstring_result::kind::value);
    VHOSTMAIL_FUZZ_CHECK(r.value == input);
    VHOSTMAIL_FUZZ_CHECK(r.consumed == wire.size());
    if (!input.empty()) {
        VHOSTMAIL_FUZZ_CHECK(parse_netstring(wire, input.size() - 1).what ==
                             netstring_result::kind::error);
    }
    return 0;
}
