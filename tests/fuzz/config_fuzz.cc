// SPDX-License-Identifier: Apache-2.0
// config_fuzz.cc - libFuzzer entry point for the main.cf parser and $name expansion.
// Checks: no crash, no hang, no sanitizer report; every entry has a valid name and a line
// number; expansion of every name terminates within its limits.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "lib/config/config_file.hh"

namespace {

// Bounds the work per input: each expansion may produce up to this many bytes.
constexpr size_t fuzz_max_expanded_size = 64 << 10;
constexpr size_t fuzz_max_expanded_names = 32;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto parsed = vhostmail::config::parse_config(text, "fuzz.cf");
    std::map<std::string, std::string, std::less<>> last;
    for (const auto& e : parsed.entries) {
        if (!vhostmail::config::valid_param_name(e.name) || e.line < 1) {
            std::abort();
        }
        last[e.name] = e.value;
    }
    auto lookup = [&](std::string_view name) -> std::optional<std::string> {
        auto it = last.find(name);
        if (it == last.end()) {
            return std::nullopt;
        }
        return it->second;
    };
    size_t expanded = 0;
    for (const auto& [name, value] : last) {
        if (++expanded > fuzz_max_expanded_names) {
            break;
        }
        auto r = vhostmail::config::expand_value(name, value, lookup, fuzz_max_expanded_size);
        // A success stays within the limit; a failure carries no partial value.
        if (r.ok() ? r.value.size() > fuzz_max_expanded_size : !r.value.empty()) {
            std::abort();
        }
    }
    return 0;
}
