// SPDX-License-Identifier: Apache-2.0
// program_request_fuzz.cc - libFuzzer target for lib/os/program_wire: the program runner holds
// the right to switch users and decodes what the daemon sends it, so every input must either be
// refused or decode to a request within the limits that encodes back to the same bytes; the
// result decoder must never misread.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/os/program_wire.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::os;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (auto r = decode_program_request(input)) {
        VHOSTMAIL_FUZZ_CHECK(!r->argv.empty() && r->argv.size() <= max_program_args);
        VHOSTMAIL_FUZZ_CHECK(r->argv.front().front() == '/');
        VHOSTMAIL_FUZZ_CHECK(r->env.size() <= max_program_env);
        for (const auto& s : r->argv) {
            VHOSTMAIL_FUZZ_CHECK(s.size() <= max_program_string);
            VHOSTMAIL_FUZZ_CHECK(s.find('\0') == std::string::npos);
        }
        for (const auto& e : r->env) {
            VHOSTMAIL_FUZZ_CHECK(e.find('=') != std::string::npos && e.front() != '=');
        }
        VHOSTMAIL_FUZZ_CHECK(encode_program_request(*r) == input);  // one encoding only
    }
    if (auto r = decode_program_result(input)) {
        VHOSTMAIL_FUZZ_CHECK(r->error.size() <= max_program_error);
        VHOSTMAIL_FUZZ_CHECK(encode_program_result(*r) == input);
    }
    // What the encoder makes of the input as one argument decodes back to it, when allowed.
    program_request own;
    own.argv = {"/bin/x", std::string(input.substr(0, max_program_string))};
    auto back = decode_program_request(encode_program_request(own));
    VHOSTMAIL_FUZZ_CHECK(back.has_value() == (own.argv[1].find('\0') == std::string::npos));
    if (back) {
        VHOSTMAIL_FUZZ_CHECK(back->argv == own.argv);
    }
    return 0;
}
