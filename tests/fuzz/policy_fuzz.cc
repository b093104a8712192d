// SPDX-License-Identifier: Apache-2.0
// policy_fuzz.cc - libFuzzer target for lib/proto/policy: parses the input as a stream of policy
// requests the way policyd's loop does, checks that every accepted request re-encodes to the same
// attributes, and that every reply the encoder makes is one valid UTF-8 action line.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/proto/policy.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::proto;

namespace {

void parse_stream(std::string_view input, size_t max_request, size_t max_attributes) {
    std::string_view rest = input;
    for (;;) {
        const policy_parse r = parse_policy_request(rest, max_request, max_attributes);
        if (r.what == policy_parse::kind::need_more) {
            VHOSTMAIL_FUZZ_CHECK(r.consumed == 0 && r.request.attributes.empty());
            VHOSTMAIL_FUZZ_CHECK(rest.size() < max_request);
            return;
        }
        if (r.fatal) {
            VHOSTMAIL_FUZZ_CHECK(r.what == policy_parse::kind::error);
            VHOSTMAIL_FUZZ_CHECK(rest.size() >= max_request && r.consumed == 0);
            return;
        }
        VHOSTMAIL_FUZZ_CHECK(r.consumed > 0 && r.consumed <= rest.size());
        VHOSTMAIL_FUZZ_CHECK(r.consumed <= max_request);
        VHOSTMAIL_FUZZ_CHECK(rest[r.consumed - 1] == '\n');
        if (r.what == policy_parse::kind::error) {
            VHOSTMAIL_FUZZ_CHECK(!r.error.empty() && r.request.attributes.empty());
        } else {
            VHOSTMAIL_FUZZ_CHECK(r.request.attributes.size() <= max_attributes);
            VHOSTMAIL_FUZZ_CHECK(r.request.get("request") == "smtpd_access_policy");
            std::string again;
            for (const auto& [name, value] : r.request.attributes) {
                VHOSTMAIL_FUZZ_CHECK(!name.empty());
                VHOSTMAIL_FUZZ_CHECK(name.find_first_of(std::string_view("=\n\0", 3)) ==
                                     std::string::npos);
                VHOSTMAIL_FUZZ_CHECK(value.find_first_of(std::string_view("\n\0", 2)) ==
                                     std::string::npos);
                again += name + "=" + value + "\r\n";  // CRLF: a value may end in CR
            }
            again += "\r\n";
            const policy_parse re = parse_policy_request(again, again.size() + 1, max_attributes);
            VHOSTMAIL_FUZZ_CHECK(re.what == policy_parse::kind::request);
            VHOSTMAIL_FUZZ_CHECK(re.request.attributes == r.request.attributes);
        }
        rest.remove_prefix(r.consumed);
    }
}

void check_reply(std::string_view action) {
    const std::string reply = encode_policy_reply(action);
    VHOSTMAIL_FUZZ_CHECK(reply.starts_with("action=") && reply.ends_with("\n\n"));
    const std::string_view value = std::string_view(reply).substr(7, reply.size() - 9);
    VHOSTMAIL_FUZZ_CHECK(value.find_first_of(std::string_view("\n\r\0", 3)) ==
                         std::string_view::npos);
    // Well-formed UTF-8, checked the simple way: every lead byte has its continuation bytes.
    for (size_t i = 0; i < value.size();) {
        const auto b = static_cast<uint8_t>(value[i]);
        size_t n = b < 0x80 ? 1 : b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 ? 2 : 0;
        VHOSTMAIL_FUZZ_CHECK(n > 0 && i + n <= value.size());
        for (size_t k = 1; k < n; ++k) {
            VHOSTMAIL_FUZZ_CHECK((static_cast<uint8_t>(value[i + k]) & 0xc0) == 0x80);
        }
        i += n;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    parse_stream(input, policy_max_request, policy_max_attributes);
    parse_stream(input, 64, 3);
    check_reply(input);
    return 0;
}
