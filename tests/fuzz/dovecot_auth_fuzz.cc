// SPDX-License-Identifier: Apache-2.0
// dovecot_auth_fuzz.cc - libFuzzer target for lib/proto/dovecot_auth: parses the input as a
// stream of client lines the way authd's loop does, decodes every response as base64 and as a
// PLAIN message, and checks that replies built from the parsed fields stay one line each.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/core/encoding.hh"
#include "lib/proto/dovecot_auth.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::proto;
using vhostmail::base64_decode;
using vhostmail::base64_encode;

namespace {

void check_one_line(const std::string& reply) {
    VHOSTMAIL_FUZZ_CHECK(!reply.empty() && reply.back() == '\n');
    VHOSTMAIL_FUZZ_CHECK(std::count(reply.begin(), reply.end(), '\n') == 1);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    for (;;) {
        const dovecot_auth_parse r = parse_dovecot_auth_line(rest);
        if (r.what == dovecot_auth_parse::kind::need_more) {
            VHOSTMAIL_FUZZ_CHECK(rest.size() < dovecot_auth_max_line);
            VHOSTMAIL_FUZZ_CHECK(rest.find('\n') == std::string_view::npos);
            break;
        }
        VHOSTMAIL_FUZZ_CHECK(r.consumed > 0 && r.consumed <= rest.size());
        VHOSTMAIL_FUZZ_CHECK(r.consumed <= dovecot_auth_max_line);
        const auto& c = r.request;
        check_one_line(encode_dovecot_fail(c.id, c.mech, c.service));
        check_one_line(encode_dovecot_ok(c.id, c.remote_ip));
        check_one_line(encode_dovecot_cont(c.id, c.response));
        if (c.has_response) {
            if (auto decoded = base64_decode(c.response)) {
                VHOSTMAIL_FUZZ_CHECK(base64_encode(*decoded) == c.response);
                if (auto m = parse_plain_message(*decoded)) {
                    VHOSTMAIL_FUZZ_CHECK(!m->authcid.empty() && !m->password.empty());
                    VHOSTMAIL_FUZZ_CHECK(m->authzid.size() + m->authcid.size() +
                                             m->password.size() + 2 ==
                                         decoded->size());
                }
            }
        }
        if (r.fatal) {
            break;
        }
        rest.remove_prefix(r.consumed);
    }
    return 0;
}
