// SPDX-License-Identifier: Apache-2.0
#include "lib/config/params.hh"

#include <array>
#include <charconv>
#include <stdexcept>
#include <utility>

#include "lib/config/config_file.hh"
#include "lib/core/strings.hh"

namespace vhostmail::config {

namespace {

constexpr int64_t int64_min = std::numeric_limits<int64_t>::min();
constexpr int64_t int64_max = std::numeric_limits<int64_t>::max();

struct unit {
    std::string_view suffix;
    int64_t factor;
};

// Largest first, so that formatting picks the shortest exact spelling.
constexpr std::array<unit, 6> duration_units{{
    {"w", 7LL * 24 * 3600 * 1000},
    {"d", 24LL * 3600 * 1000},
    {"h", 3600LL * 1000},
    {"m", 60LL * 1000},
    {"s", 1000},
    {"ms", 1},
}};

constexpr std::array<unit, 8> size_units{{
    {"t", 1LL << 40},
    {"T", 1LL << 40},
    {"g", 1LL << 30},
    {"G", 1LL << 30},
    {"m", 1LL << 20},
    {"M", 1LL << 20},
    {"k", 1LL << 10},
    {"K", 1LL << 10},
}};

bool all_digits(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

// Non-negative decimal number times `factor`, nullopt on syntax error or int64 overflow.
std::optional<int64_t> scaled(std::string_view digits, int64_t factor) {
    if (!all_digits(digits)) {
        return std::nullopt;
    }
    int64_t n = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (ec != std::errc() || end != digits.data() + digits.size() || n > int64_max / factor) {
        return std::nullopt;
    }
    return n * factor;
}

std::string range_text(std::string_view what, int64_t min, int64_t max, int64_t floor,
                       std::string (*show)(int64_t)) {
    std::string out(what);
    if (min > floor && max < int64_max) {
        return out + " from " + show(min) + " to " + show(max);
    }
    if (min > floor) {
        return out + " of at least " + show(min);
    }
    return out + " of at most " + show(max);
}

std::string show_int(int64_t v) {
    return std::to_string(v);
}

std::string show_duration(int64_t v) {
    return format_duration(std::chrono::milliseconds(v));
}

std::string show_size(int64_t v) {
    return format_size(static_cast<uint64_t>(v));
}

}  // namespace

void param_table::add(param_spec spec) {
    if (!valid_param_name(spec.name)) {
        throw std::logic_error("bad parameter name \"" + spec.name + "\"");
    }
    if (spec.type == param_type::choice && spec.choices.empty()) {
        throw std::logic_error("parameter \"" + spec.name + "\" has no choices");
    }
    if (spec.min > spec.max) {
        throw std::logic_error("parameter \"" + spec.name + "\" has min > max");
    }
    if (specs_.count(spec.name) != 0 || old_names_.count(spec.name) != 0) {
        throw std::logic_error("parameter \"" + spec.name + "\" declared twice");
    }
    for (const auto& old : spec.old_names) {
        if (!valid_param_name(old) || specs_.count(old) != 0 ||
            !old_names_.emplace(old, spec.name).second) {
            throw std::logic_error("bad or duplicate former name \"" + old + "\"");
        }
    }
    auto name = spec.name;
    specs_.emplace(std::move(name), std::move(spec));
}

const param_spec* param_table::find(std::string_view name) const {
    auto it = specs_.find(name);
    return it == specs_.end() ? nullptr : &it->second;
}

const param_spec* param_table::renamed(std::string_view old_name) const {
    auto it = old_names_.find(old_name);
    return it == old_names_.end() ? nullptr : find(it->second);
}

std::optional<int64_t> parse_int(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    int64_t n = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size()) {
        return std::nullopt;
    }
    return n;
}

std::optional<bool> parse_bool(std::string_view text) {
    for (std::string_view yes : {"yes", "true", "on", "1"}) {
        if (iequals(text, yes)) {
            return true;
        }
    }
    for (std::string_view no : {"no", "false", "off", "0"}) {
        if (iequals(text, no)) {
            return false;
        }
    }
    return std::nullopt;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
    auto digits_end = text.find_first_not_of("0123456789");
    auto digits = text.substr(0, digits_end);
    auto suffix =
        digits_end == std::string_view::npos ? std::string_view() : text.substr(digits_end);
    int64_t factor = suffix.empty() ? 1000 : 0;  // a bare number is seconds, as in Postfix
    for (const auto& u : duration_units) {
        if (suffix == u.suffix) {
            factor = u.factor;
        }
    }
    if (factor == 0) {
        return std::nullopt;
    }
    auto ms = scaled(digits, factor);
    if (!ms) {
        return std::nullopt;
    }
    return std::chrono::milliseconds(*ms);
}

std::optional<uint64_t> parse_size(std::string_view text) {
    int64_t factor = 1;
    for (const auto& u : size_units) {
        if (!text.empty() && text.back() == u.suffix.front()) {
            factor = u.factor;
            text.remove_suffix(1);
            break;
        }
    }
    auto bytes = scaled(text, factor);
    if (!bytes) {
        return std::nullopt;
    }
    return static_cast<uint64_t>(*bytes);
}

std::optional<unsigned> parse_mode(std::string_view text) {
    if (text.empty()) {
        return std::nullopt;
    }
    unsigned mode = 0;
    for (char c : text) {
        if (c < '0' || c > '7') {
            return std::nullopt;
        }
        mode = mode * 8 + static_cast<unsigned>(c - '0');
        if (mode > 07777) {
            return std::nullopt;
        }
    }
    return mode;
}

std::string format_duration(std::chrono::milliseconds d) {
    auto ms = d.count();
    if (ms == 0) {
        return "0s";
    }
    for (const auto& u : duration_units) {
        if (ms % u.factor == 0) {
            return std::to_string(ms / u.factor) + std::string(u.suffix);
        }
    }
    return std::to_string(ms) + "ms";  // not reached: the last unit is 1 ms
}

std::string format_size(uint64_t bytes) {
    if (bytes != 0) {
        for (const auto& u : size_units) {
            auto f = static_cast<uint64_t>(u.factor);
            if (u.suffix.front() >= 'a' && bytes % f == 0) {
                return std::to_string(bytes / f) + std::string(u.suffix);
            }
        }
    }
    return std::to_string(bytes);
}

std::string expected_value(const param_spec& spec) {
    bool bounded = spec.max < int64_max;
    switch (spec.type) {
        case param_type::string:
        case param_type::list:
            return "any text";
        case param_type::integer:
            if (spec.min == int64_min && !bounded) {
                return "an integer";
            }
            return range_text("an integer", spec.min, spec.max, int64_min, show_int);
        case param_type::boolean:
            return "yes or no";
        case param_type::duration:
            if (spec.min <= 0 && !bounded) {
                return "a duration like 300s";
            }
            return range_text("a duration", spec.min, spec.max, 0, show_duration);
        case param_type::size:
            if (spec.min <= 0 && !bounded) {
                return "a size like 10m";
            }
            return range_text("a size", spec.min, spec.max, 0, show_size);
        case param_type::mode:
            return "an octal file mode like 0660";
        case param_type::choice: {
            std::string out = "one of: ";
            for (size_t i = 0; i < spec.choices.size(); ++i) {
                out += (i == 0 ? "" : ", ") + spec.choices[i];
            }
            return out;
        }
    }
    return "a valid value";
}

std::optional<param_value> check_value(const param_spec& spec, std::string_view text) {
    param_value v{std::string(text), 0, {}};
    std::optional<int64_t> number;
    switch (spec.type) {
        case param_type::string:
            return v;
        case param_type::list:
            v.items = split_list(text);
            return v;
        case param_type::choice:
            for (const auto& c : spec.choices) {
                if (iequals(c, text)) {
                    v.text = c;
                    return v;
                }
            }
            return std::nullopt;
        case param_type::integer:
            number = parse_int(text);
            break;
        case param_type::boolean:
            if (auto b = parse_bool(text)) {
                number = *b ? 1 : 0;
            }
            break;
        case param_type::duration:
            if (auto d = parse_duration(text)) {
                number = d->count();
            }
            break;
        case param_type::size:
            if (auto s = parse_size(text)) {
                number = static_cast<int64_t>(*s);
            }
            break;
        case param_type::mode:
            if (auto m = parse_mode(text)) {
                number = static_cast<int64_t>(*m);
            }
            break;
    }
    bool ranged = spec.type == param_type::integer || spec.type == param_type::duration ||
                  spec.type == param_type::size;
    if (!number || (ranged && (*number < spec.min || *number > spec.max))) {
        return std::nullopt;
    }
    v.number = *number;
    return v;
}

}  // namespace vhostmail::config
