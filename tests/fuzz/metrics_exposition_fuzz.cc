// SPDX-License-Identifier: Apache-2.0
// metrics_exposition_fuzz.cc - libFuzzer target for lib/metrics/exposition (what vhostmail
// status reads from a daemon): parses the input as Prometheus text; whatever parses, written
// again in the text format (registry.hh's escapes and numbers), parses to the same samples.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/metrics/exposition.hh"
#include "lib/metrics/registry.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::metrics;

namespace {

std::string written(const std::vector<sample>& samples) {
    std::string out = "# HELP some text\n";
    for (const auto& s : samples) {
        out += s.name;
        if (!s.labels.empty()) {
            out += "{";
            for (size_t i = 0; i < s.labels.size(); ++i) {
                out += (i ? "," : "") + s.labels[i].first + "=\"" +
                       escape_label_value(s.labels[i].second) + "\"";
            }
            out += "}";
        }
        out += " " + format_number(s.value) + "\n";
    }
    return out;
}

bool same_value(double a, double b) {
    return (std::isnan(a) && std::isnan(b)) || a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string error;
    auto parsed = parse_exposition(input, error);
    if (!parsed) {
        VHOSTMAIL_FUZZ_CHECK(error.starts_with("line "));
        return 0;
    }
    for (const auto& s : *parsed) {
        VHOSTMAIL_FUZZ_CHECK(valid_metric_name(s.name));
        for (const auto& l : s.labels) {
            VHOSTMAIL_FUZZ_CHECK(valid_metric_name(l.first));
        }
    }
    auto again = parse_exposition(written(*parsed), error);
    VHOSTMAIL_FUZZ_CHECK(again && again->size() == parsed->size());
    for (size_t i = 0; i < parsed->size(); ++i) {
        VHOSTMAIL_FUZZ_CHECK((*again)[i].name == (*parsed)[i].name);
        VHOSTMAIL_FUZZ_CHECK((*again)[i].labels == (*parsed)[i].labels);
        VHOSTMAIL_FUZZ_CHECK(same_value((*again)[i].value, (*parsed)[i].value));
    }
    return 0;
}
