// SPDX-License-Identifier: Apache-2.0
// lmtp_fuzz.cc - libFuzzer target for lib/proto/lmtp and lmtp_data: splits the input into
// command lines the way vhostmail-lmtpd does, parses each, and after a DATA line decodes the
// rest as a DATA section, whole and one byte at a time (both must agree); checks the invariants
// of replies, ORCPT decoding and the dot-stuffing round trip.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/core/address.hh"
#include "lib/proto/lmtp.hh"
#include "lib/proto/lmtp_data.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::proto;

namespace {

void check_data(std::string_view rest, size_t max) {
    data_decoder whole(max);
    std::string a;
    size_t used = whole.feed(rest, a);
    VHOSTMAIL_FUZZ_CHECK(used <= rest.size());
    VHOSTMAIL_FUZZ_CHECK(a.size() <= max);
    VHOSTMAIL_FUZZ_CHECK(whole.done() || used == rest.size());

    data_decoder trickle(max);
    std::string b;
    size_t used_b = 0;
    for (size_t i = 0; i < rest.size() && !trickle.done(); ++i) {
        used_b += trickle.feed(rest.substr(i, 1), b);
    }
    VHOSTMAIL_FUZZ_CHECK(a == b);
    VHOSTMAIL_FUZZ_CHECK(used == used_b);
    VHOSTMAIL_FUZZ_CHECK(whole.done() == trickle.done());
    VHOSTMAIL_FUZZ_CHECK(whole.too_big() == trickle.too_big());

    if (!whole.too_big()) {
        // Decoding what we would send must give back the text.
        std::string wire = dot_stuff(a);
        data_decoder again(max + 16);
        std::string c;
        VHOSTMAIL_FUZZ_CHECK(again.feed(wire, c) == wire.size());
        VHOSTMAIL_FUZZ_CHECK(again.done());
        std::string expect = a;
        if (!expect.empty() && expect.back() != '\n') {
            expect += '\n';
        }
        VHOSTMAIL_FUZZ_CHECK(c == expect || a.find('\r') != std::string::npos);
    }
}

}  // namespace

namespace {

// What the pipe front end relays (smtp_path) lmtpd must read back as the same address, for any
// address of printable characters at a valid domain.
void round_trip_path(const lmtp_command& c) {
    const std::string& a = c.address;
    auto at = a.rfind('@');
    if ((c.verb != lmtp_verb::rcpt && c.verb != lmtp_verb::mail) || a.empty() ||
        at == std::string::npos || at == 0 || !vhostmail::valid_domain(a.substr(at + 1))) {
        return;
    }
    for (unsigned char ch : a) {
        if (ch < 0x20 || ch == 0x7f) {
            return;
        }
    }
    auto again = parse_lmtp_command(
        std::string(c.verb == lmtp_verb::rcpt ? "RCPT TO:" : "MAIL FROM:") + smtp_path(a));
    VHOSTMAIL_FUZZ_CHECK(again.ok && again.command.address == a);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view rest(reinterpret_cast<const char*>(data), size);
    for (int n = 0; n < 1000; ++n) {
        auto line = take_lmtp_line(rest, 512);
        if (line.what == lmtp_line::kind::need_more) {
            VHOSTMAIL_FUZZ_CHECK(line.consumed == 0);
            break;
        }
        VHOSTMAIL_FUZZ_CHECK(line.consumed > 0 && line.consumed <= rest.size());
        if (line.what == lmtp_line::kind::line) {
            VHOSTMAIL_FUZZ_CHECK(line.text.find('\n') == std::string_view::npos);
            // The same line as a reply the relay client reads, and xtext both ways.
            if (auto reply = parse_lmtp_reply(line.text)) {
                VHOSTMAIL_FUZZ_CHECK(reply->code >= 200 && reply->code <= 599);
                VHOSTMAIL_FUZZ_CHECK(reply->text.size() < line.text.size());
            }
            VHOSTMAIL_FUZZ_CHECK(decode_xtext(encode_xtext(line.text)) == std::string(line.text));
            auto p = parse_lmtp_command(line.text);
            if (p.ok) {
                for (const auto& param : p.command.params) {
                    VHOSTMAIL_FUZZ_CHECK(!param.keyword.empty());
                    if (param.keyword == "ORCPT") {
                        auto a = orcpt_address(param.value);
                        VHOSTMAIL_FUZZ_CHECK(!a || !a->empty());
                    }
                }
                VHOSTMAIL_FUZZ_CHECK(p.command.address.size() <= lmtp_max_address);
                round_trip_path(p.command);
                std::string reply = lmtp_reply(250, "2.0.0", p.command.argument);
                VHOSTMAIL_FUZZ_CHECK(reply.find('\n') == reply.size() - 1);
                if (p.command.verb == lmtp_verb::data) {
                    rest.remove_prefix(line.consumed);
                    check_data(rest, 4096);
                    return 0;
                }
            } else {
                VHOSTMAIL_FUZZ_CHECK(p.code >= 500 && p.code < 600 && !p.error.empty());
                std::string reply = lmtp_reply(p.code, p.enhanced, p.error);
                VHOSTMAIL_FUZZ_CHECK(reply.find('\n') == reply.size() - 1);
            }
        }
        rest.remove_prefix(line.consumed);
    }
    return 0;
}
