// SPDX-License-Identifier: Apache-2.0
// rate.hh - sending budgets and their arithmetic (pure). A budget counts messages, recipients or
// bytes in fixed windows aligned to multiples of the window length (UNIX time). Usage is judged
// by a sliding estimate over the current and the previous window:
//     used = previous * (1 - elapsed/length) + current
// which behaves like a sliding window without storing every event: unlike plain fixed windows,
// it does not let a client spend two budgets around a window boundary.
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::policy {

enum class budget { messages, recipients, bytes };

std::string_view to_string(budget b);

struct rate_rule {
    budget what = budget::messages;
    int64_t window_s = 3600;  // > 0
    uint64_t max = 0;

    bool operator==(const rate_rule&) const = default;
};

// "30 messages/1m, 500 messages/1d, 2000 recipients/1d, 200m bytes/1d": comma- or
// space-separated "N UNIT/WINDOW" items; N takes k/m/g suffixes (1000-based for counts,
// 1024-based for bytes, like Postfix sizes), WINDOW is a duration (s, m, h, d, w; a bare number
// is seconds). Returns nullopt and sets *error on the first bad item.
std::optional<std::vector<rate_rule>> parse_rate_rules(std::string_view text, std::string* error);

// "30 messages per 1m" for logs and replies.
std::string describe(const rate_rule& r);

// Start of the window that contains `now`.
inline int64_t window_start(int64_t now, int64_t window_s) {
    return now - (now % window_s + window_s) % window_s;
}

struct window_counts {
    uint64_t previous = 0;  // the window before the one containing now
    uint64_t current = 0;

    bool operator==(const window_counts&) const = default;
};

// The sliding estimate of usage at `now`.
double estimated_use(const window_counts& c, int64_t now, int64_t window_s);

// Seconds until `cost` more would fit within `max` (0: it fits now). A cost larger than the
// whole budget never fits: returns the window length (the sender should give up or split).
int64_t seconds_until_fits(const window_counts& c, int64_t now, const rate_rule& rule,
                           uint64_t cost);

// "4m10s", "2h", "1d3h" for retry hints.
std::string format_wait(int64_t seconds);

}  // namespace vhostmail::policy
