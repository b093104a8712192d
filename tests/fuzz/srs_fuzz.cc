// SPDX-License-Identifier: Apache-2.0
// srs_fuzz.cc - libFuzzer target for lib/srs: the first byte picks a day, the rest is an address.
// Reversing any address must not fail in any other way than by a status; an address that
// forward() rewrote must reverse, for the whole validity window, to the sender it came from
// (or, for another forwarder's SRS1, to that forwarder's SRS0 address).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/core/strings.hh"
#include "lib/srs/srs.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::srs;
using vhostmail::iequals;

namespace {

const codec& the_codec() {
    static const codec c(
        settings{.domain = "srs.example.net", .exclude_domains = {".excluded.example"}},
        {"first secret", "second"});
    return c;
}

bool starts_srs1(std::string_view s) {
    return s.size() > 4 && (s[0] == 's' || s[0] == 'S') && (s[1] == 'r' || s[1] == 'R') &&
           (s[2] == 's' || s[2] == 'S') && s[3] == '1' &&
           (s[4] == '=' || s[4] == '-' || s[4] == '+');
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::time_t now = (20000 + data[0]) * std::time_t{86400};
    std::string_view address(reinterpret_cast<const char*>(data) + 1, size - 1);
    const codec& c = the_codec();

    auto r = c.reverse(address, now);
    VHOSTMAIL_FUZZ_CHECK((r.status == reverse_status::ok) == !r.address.empty());

    auto f = c.forward(address, now);
    if (!f) {
        return 0;
    }
    VHOSTMAIL_FUZZ_CHECK(f->size() <= 1000);
    VHOSTMAIL_FUZZ_CHECK(!c.forward(*f, now));  // never rewritten twice
    for (std::time_t later : {now, now + 21 * 86400}) {
        auto back = c.reverse(*f, later);
        VHOSTMAIL_FUZZ_CHECK(back.status == reverse_status::ok);
        if (starts_srs1(address)) {
            VHOSTMAIL_FUZZ_CHECK(back.address.starts_with("SRS0"));
        } else {
            // Another forwarder's SRS0 comes back with the tag in capitals, as postsrsd writes it.
            const size_t tag = std::min<size_t>(4, address.size());
            VHOSTMAIL_FUZZ_CHECK(back.address.size() == address.size() &&
                                 iequals(back.address.substr(0, tag), address.substr(0, tag)) &&
                                 back.address.substr(tag) == address.substr(tag));
        }
    }
    VHOSTMAIL_FUZZ_CHECK(c.reverse(*f, now + 22 * 86400).status == reverse_status::expired ||
                         starts_srs1(*f));
    return 0;
}
