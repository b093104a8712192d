// SPDX-License-Identifier: Apache-2.0
// saslauthd_fuzz.cc - libFuzzer target for lib/proto/saslauthd: parses the input as one request
// (the protocol has one per connection), checks the field bounds, re-encodes it and compares.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/proto/saslauthd.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::proto;

namespace {

std::string field(const std::string& s) {
    std::string out;
    out += static_cast<char>(s.size() >> 8);
    out += static_cast<char>(s.size() & 0xff);
    return out + s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const saslauthd_parse r = parse_saslauthd_request(in);
    switch (r.what) {
        case saslauthd_parse::kind::need_more:
            VHOSTMAIL_FUZZ_CHECK(r.consumed == 0);
            break;
        case saslauthd_parse::kind::error:
            VHOSTMAIL_FUZZ_CHECK(!r.error.empty() && r.consumed <= in.size());
            VHOSTMAIL_FUZZ_CHECK(r.request.password.empty());
            break;
        case saslauthd_parse::kind::request: {
            const auto& q = r.request;
            for (const std::string* f : {&q.login, &q.password, &q.service, &q.realm}) {
                VHOSTMAIL_FUZZ_CHECK(f->size() <= saslauthd_max_field);
            }
            std::string again =
                field(q.login) + field(q.password) + field(q.service) + field(q.realm);
            VHOSTMAIL_FUZZ_CHECK(again == in.substr(0, r.consumed));
            std::string reply = encode_saslauthd_reply(false, saslauthd_full_login(q));
            size_t n = (size_t(static_cast<unsigned char>(reply[0])) << 8) |
                       static_cast<unsigned char>(reply[1]);
            VHOSTMAIL_FUZZ_CHECK(n + 2 == reply.size() && n <= 1003);
            break;
        }
    }
    return 0;
}
