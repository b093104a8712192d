// SPDX-License-Identifier: Apache-2.0
#include "lib/policy/rate.hh"

#include <cmath>

#include "lib/config/params.hh"
#include "lib/core/strings.hh"

namespace vhostmail::policy {

std::string_view to_string(budget b) {
    switch (b) {
        case budget::messages:
            return "messages";
        case budget::recipients:
            return "recipients";
        case budget::bytes:
            return "bytes";
    }
    return "?";
}

namespace {

std::optional<uint64_t> parse_amount(std::string_view text, bool bytes) {
    if (text.empty()) {
        return std::nullopt;
    }
    uint64_t mult = 1;
    char last = static_cast<char>(text.back() | 0x20);
    uint64_t k = bytes ? 1024 : 1000;
    if (last == 'k' || last == 'm' || last == 'g') {
        mult = last == 'k' ? k : last == 'm' ? k * k : k * k * k;
        text.remove_suffix(1);
    }
    auto n = config::parse_int(text);
    if (!n || *n < 0 || static_cast<uint64_t>(*n) > UINT64_MAX / mult) {
        return std::nullopt;
    }
    return static_cast<uint64_t>(*n) * mult;
}

std::optional<int64_t> parse_window(std::string_view text) {
    if (!text.empty() && text.back() >= '0' && text.back() <= '9') {
        auto n = config::parse_int(text);
        return n && *n > 0 ? n : std::nullopt;
    }
    if (!text.empty() && (text.back() | 0x20) == 'd') {
        auto n = config::parse_int(text.substr(0, text.size() - 1));
        return n && *n > 0 && *n <= 3650 ? std::optional<int64_t>(*n * 86400) : std::nullopt;
    }
    auto d = config::parse_duration(text);
    if (!d || d->count() < 1000 || d->count() % 1000 != 0) {
        return std::nullopt;
    }
    return d->count() / 1000;
}

}  // namespace

std::optional<std::vector<rate_rule>> parse_rate_rules(std::string_view text, std::string* error) {
    std::vector<rate_rule> rules;
    std::vector<std::string> words;
    for (auto& w : split_list(text)) {
        words.push_back(std::move(w));
    }
    auto fail = [&](std::string why) -> std::optional<std::vector<rate_rule>> {
        if (error) {
            *error = std::move(why);
        }
        return std::nullopt;
    };
    if (words.size() % 2 != 0) {
        return fail("expected \"N UNIT/WINDOW\" items, e.g. \"30 messages/1m, 100m bytes/1d\"");
    }
    for (size_t i = 0; i < words.size(); i += 2) {
        const std::string& unit_window = words[i + 1];
        auto slash = unit_window.find('/');
        if (slash == std::string::npos) {
            return fail("\"" + unit_window + "\": expected UNIT/WINDOW, e.g. messages/1h");
        }
        std::string_view unit = std::string_view(unit_window).substr(0, slash);
        rate_rule r;
        if (unit == "messages" || unit == "message") {
            r.what = budget::messages;
        } else if (unit == "recipients" || unit == "recipient") {
            r.what = budget::recipients;
        } else if (unit == "bytes") {
            r.what = budget::bytes;
        } else {
            return fail("\"" + std::string(unit) +
                        "\": unit must be messages, recipients or bytes");
        }
        auto amount = parse_amount(words[i], r.what == budget::bytes);
        if (!amount) {
            return fail("\"" + words[i] + "\": not a count (digits, optional k/m/g)");
        }
        auto window = parse_window(std::string_view(unit_window).substr(slash + 1));
        if (!window) {
            return fail("\"" + unit_window.substr(slash + 1) +
                        "\": window must be a duration of whole seconds, e.g. 60s, 1h, 1d");
        }
        r.max = *amount;
        r.window_s = *window;
        rules.push_back(r);
    }
    return rules;
}

std::string format_wait(int64_t seconds) {
    if (seconds <= 0) {
        return "0s";
    }

    struct unit {
        int64_t len;
        char name;
    };

    std::string out;
    int parts = 0;
    for (auto [len, name] : {unit{86400, 'd'}, unit{3600, 'h'}, unit{60, 'm'}, unit{1, 's'}}) {
        if (seconds >= len && parts < 2) {
            out += std::to_string(seconds / len) + name;
            seconds %= len;
            ++parts;
        } else if (parts > 0) {
            ++parts;  // only two adjacent units: "1d3h", never "1d5s"
        }
    }
    return out;
}

std::string describe(const rate_rule& r) {
    return std::to_string(r.max) + " " + std::string(to_string(r.what)) + " per " +
           format_wait(r.window_s);
}

double estimated_use(const window_counts& c, int64_t now, int64_t window_s) {
    double elapsed = static_cast<double>(now - window_start(now, window_s));
    double weight = 1.0 - elapsed / static_cast<double>(window_s);
    return static_cast<double>(c.previous) * weight + static_cast<double>(c.current);
}

int64_t seconds_until_fits(const window_counts& c, int64_t now, const rate_rule& rule,
                           uint64_t cost) {
    if (cost > rule.max) {
        return rule.window_s;
    }
    const double len = static_cast<double>(rule.window_s);
    const double room = static_cast<double>(rule.max - cost);
    if (estimated_use(c, now, rule.window_s) <= room) {
        return 0;
    }
    const int64_t start = window_start(now, rule.window_s);
    const double elapsed = static_cast<double>(now - start);
    if (static_cast<double>(c.current) <= room && c.previous > 0) {
        // Within this window, once the previous window's weight has decayed enough.
        double need =
            len * (1.0 - (room - static_cast<double>(c.current)) / static_cast<double>(c.previous));
        return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(need - elapsed)));
    }
    // In the next window, where this window's count becomes the decaying previous one.
    double into_next = c.current > 0 ? len * (1.0 - room / static_cast<double>(c.current)) : 0;
    return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(len - elapsed + into_next)));
}

}  // namespace vhostmail::policy
