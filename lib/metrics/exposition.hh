// SPDX-License-Identifier: Apache-2.0
// exposition.hh - reading Prometheus's text format (0.0.4), as registry.hh writes it, for tools
// that ask a daemon how it is (vhostmail status). Pure: no I/O.
// Read: sample lines `name{label="value",...} value [timestamp]`, label values with the escapes
// \\ \" \n, values as Go's ParseFloat reads them (+Inf, -Inf, NaN included); comment lines (# HELP,
// # TYPE, any other #) and blank lines are skipped. Anything else is an error naming the line.
// Thread safety: reentrant.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vhostmail::metrics {

struct sample {
    std::string name;
    std::vector<std::pair<std::string, std::string>> labels;  // in the order given
    double value = 0;

    // The value of the label named `wanted`, "" when it has none.
    std::string_view label(std::string_view wanted) const;
};

// The samples of `text`, or nullopt with `error` set ("line N: why").
std::optional<std::vector<sample>> parse_exposition(std::string_view text, std::string& error);

// The value of the first sample named `name` whose labels include every one of `labels`.
std::optional<double> find_sample(
    const std::vector<sample>& samples, std::string_view name,
    const std::vector<std::pair<std::string, std::string>>& labels = {});

}  // namespace vhostmail::metrics
