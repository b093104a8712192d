// SPDX-License-Identifier: Apache-2.0
// aliases_file_fuzz.cc - the alias file parser on arbitrary text, in both formats.
// Checks: no crash or hang; every entry has a key, values and a line within the input.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "lib/proto/aliases_file.hh"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    for (auto format :
         {vhostmail::proto::alias_format::aliases, vhostmail::proto::alias_format::virtual_table}) {
        auto f = vhostmail::proto::parse_alias_file(text, format);
        for (const auto& e : f.entries) {
            if (e.key.empty() || e.destinations.empty() || e.line == 0 || e.line > size + 1) {
                std::abort();
            }
        }
    }
    return 0;
}
