// SPDX-License-Identifier: Apache-2.0
// dkim_fuzz.cc - libFuzzer target for lib/dkim's pure code: body canonicalization (any split of
// the input into chunks gives the same output, and the output is well formed), header
// canonicalization, and the From field parser. The first byte chooses the chunk size.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/dkim/canon.hh"
#include "lib/dkim/from_header.hh"
#include "lib/dkim/signature.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::dkim;

namespace {

std::string body(canon c, std::string_view in, size_t chunk) {
    body_canonicalizer b(c);
    std::string out;
    for (size_t i = 0; i < in.size(); i += chunk) {
        b.feed(in.substr(i, chunk), out);
    }
    b.finish(out);
    return out;
}

// Canonical output is CRLF-terminated lines without bare LF; relaxed has no blank before CRLF
// and no empty line at the end; simple ends in exactly one CRLF when nothing follows.
void check_body(canon c, const std::string& out) {
    if (out.empty()) {
        VHOSTMAIL_FUZZ_CHECK(c == canon::relaxed);
        return;
    }
    VHOSTMAIL_FUZZ_CHECK(out.size() >= 2 && out.compare(out.size() - 2, 2, "\r\n") == 0);
    for (size_t i = 0; i < out.size(); ++i) {
        if (out[i] == '\n') {
            VHOSTMAIL_FUZZ_CHECK(i > 0 && out[i - 1] == '\r');
            if (c == canon::relaxed && i >= 2) {
                VHOSTMAIL_FUZZ_CHECK(out[i - 2] != ' ' && out[i - 2] != '\t');
            }
        }
        if (c == canon::relaxed) {
            VHOSTMAIL_FUZZ_CHECK(out[i] != '\t');
            VHOSTMAIL_FUZZ_CHECK(!(out[i] == ' ' && i + 1 < out.size() && out[i + 1] == ' '));
        }
    }
    if (out != "\r\n") {
        VHOSTMAIL_FUZZ_CHECK(out.size() < 4 || out.compare(out.size() - 4, 4, "\r\n\r\n") != 0);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) {
        return 0;
    }
    const size_t chunk = 1 + data[0] % 17;
    const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
    for (canon c : {canon::simple, canon::relaxed}) {
        const std::string whole = body(c, input, input.size() + 1);
        VHOSTMAIL_FUZZ_CHECK(body(c, input, chunk) == whole);
        check_body(c, whole);
        // Canonicalization is idempotent: canonical text is its own canonical form.
        VHOSTMAIL_FUZZ_CHECK(body(c, whole, whole.size() + 1) == whole);
    }
    const size_t colon = input.find(':');
    const std::string_view name = input.substr(0, colon == std::string_view::npos ? 0 : colon);
    const std::string_view value =
        colon == std::string_view::npos ? input : input.substr(colon + 1);
    std::string relaxed;
    canonicalize_header(canon::relaxed, name, value, relaxed);
    VHOSTMAIL_FUZZ_CHECK(relaxed.size() >= 3 &&
                         relaxed.compare(relaxed.size() - 2, 2, "\r\n") == 0);
    if (name.find_first_of("\r\n") == std::string_view::npos) {  // an MTA's field names never
        VHOSTMAIL_FUZZ_CHECK(relaxed.find_first_of("\r\n") == relaxed.size() - 2);
    }
    std::string simple;
    canonicalize_header(canon::simple, name, value, simple);
    VHOSTMAIL_FUZZ_CHECK(simple.size() >= name.size() + 3);

    const from_address from = parse_from_header(value);
    if (from.what == from_address::kind::one) {
        VHOSTMAIL_FUZZ_CHECK(from.error.empty());
        const size_t at = from.address.rfind('@');
        VHOSTMAIL_FUZZ_CHECK(at != std::string::npos && at > 0 && at + 1 < from.address.size());
        // What was returned parses again to itself (a reader sees the same author).
        const from_address again = parse_from_header(" " + from.address);
        VHOSTMAIL_FUZZ_CHECK(again.what == from_address::kind::one);
        VHOSTMAIL_FUZZ_CHECK(again.address == from.address);
    } else {
        VHOSTMAIL_FUZZ_CHECK(!from.error.empty());
        VHOSTMAIL_FUZZ_CHECK(from.address.empty());
    }
    return 0;
}
