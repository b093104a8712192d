// SPDX-License-Identifier: Apache-2.0
// routing_segment_fuzz.cc - libFuzzer target for the routing image's segment reader
// (lib/vhost/image_segment): any bytes are refused or answered without reading outside them,
// and whatever a segment answers is consistent (an address found by its local part has that
// local part; a list walk ends). The corpus holds segments written by encode_domain.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lib/vhost/image_segment.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::vhost;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    // An exact-size copy, so a read past the end is a sanitizer report.
    std::string bytes(reinterpret_cast<const char*>(data), size);
    auto seg = domain_segment::open(bytes);
    if (!seg) {
        return 0;
    }
    std::vector<std::string> locals;
    seg->for_each_address([&](const address_view& a) {
        locals.emplace_back(a.local_part);
        for (auto f : a.forwards) {
            (void)f;
        }
        (void)a.maildir();
    });
    for (const auto& local : locals) {
        address_view a;
        if (seg->find_address(local, a) == domain_segment::found::yes) {
            VHOSTMAIL_FUZZ_CHECK(a.local_part == local);
        }
        (void)seg->find_full_name(local, a);
        std::vector<std::string> logins;
        (void)seg->sender_grants(local, logins);
    }
    if (auto aliases = seg->aliases()) {
        uint32_t n = 0;
        for (auto s : *aliases) {
            (void)s;
            ++n;
        }
        VHOSTMAIL_FUZZ_CHECK(n == aliases->size());
    }
    (void)seg->admins();
    return 0;
}
