// SPDX-License-Identifier: Apache-2.0
#include "lib/metrics/exposition.hh"

#include <algorithm>
#include <cstdlib>
#include <limits>

namespace vhostmail::metrics {

namespace {

bool name_char(char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (!first && c >= '0' && c <= '9');
}

// The name at the front of `s` (taken off it); "" when there is none.
std::string_view take_name(std::string_view& s) {
    size_t n = 0;
    while (n < s.size() && name_char(s[n], n == 0)) {
        ++n;
    }
    std::string_view name = s.substr(0, n);
    s.remove_prefix(n);
    return name;
}

std::optional<double> parse_value(std::string_view text) {
    if (text == "+Inf" || text == "Inf") {
        return std::numeric_limits<double>::infinity();
    }
    if (text == "-Inf") {
        return -std::numeric_limits<double>::infinity();
    }
    if (text == "NaN") {
        return std::numeric_limits<double>::quiet_NaN();
    }
    // Digits, sign, point and exponent only: strtod would also take hex, "inf" and "nan(...)".
    if (text.empty() || text.find_first_not_of("0123456789+-.eE") != std::string_view::npos) {
        return std::nullopt;
    }
    std::string copy(text);
    char* end = nullptr;
    double v = std::strtod(copy.c_str(), &end);
    if (end != copy.c_str() + copy.size()) {
        return std::nullopt;
    }
    return v;
}

// `{a="x",b="y"}` at the front of `s` (taken off it) into `out`; false on a syntax error.
bool take_labels(std::string_view& s, std::vector<std::pair<std::string, std::string>>& out) {
    s.remove_prefix(1);  // '{'
    while (true) {
        if (!s.empty() && s.front() == '}') {
            s.remove_prefix(1);
            return true;
        }
        std::string_view name = take_name(s);
        if (name.empty() || name.find(':') != std::string_view::npos || s.size() < 2 ||
            s[0] != '=' || s[1] != '"') {
            return false;
        }
        s.remove_prefix(2);
        std::string value;
        while (true) {
            if (s.empty()) {
                return false;
            }
            char c = s.front();
            s.remove_prefix(1);
            if (c == '"') {
                break;
            }
            if (c == '\n') {
                return false;
            }
            if (c == '\\') {
                if (s.empty()) {
                    return false;
                }
                char e = s.front();
                s.remove_prefix(1);
                if (e == 'n') {
                    c = '\n';
                } else if (e == '\\' || e == '"') {
                    c = e;
                } else {
                    return false;
                }
            }
            value += c;
        }
        out.emplace_back(std::string(name), std::move(value));
        if (!s.empty() && s.front() == ',') {
            s.remove_prefix(1);
        } else if (s.empty() || s.front() != '}') {
            return false;
        }
    }
}

}  // namespace

std::string_view sample::label(std::string_view wanted) const {
    for (const auto& [n, v] : labels) {
        if (n == wanted) {
            return v;
        }
    }
    return {};
}

std::optional<std::vector<sample>> parse_exposition(std::string_view text, std::string& error) {
    std::vector<sample> out;
    size_t number = 0;
    while (!text.empty()) {
        size_t lf = text.find('\n');
        std::string_view line = text.substr(0, lf);
        text.remove_prefix(lf == std::string_view::npos ? text.size() : lf + 1);
        ++number;
        auto fail = [&](std::string_view why) {
            error = "line " + std::to_string(number) + ": " + std::string(why);
            return std::nullopt;
        };
        if (line.empty() || line.front() == '#') {
            continue;
        }
        sample s;
        std::string_view rest = line;
        s.name = std::string(take_name(rest));
        if (s.name.empty()) {
            return fail("not a metric name");
        }
        if (!rest.empty() && rest.front() == '{' && !take_labels(rest, s.labels)) {
            return fail("malformed labels");
        }
        if (rest.empty() || rest.front() != ' ') {
            return fail("no value");
        }
        rest.remove_prefix(1);
        std::string_view value = rest.substr(0, rest.find(' '));
        std::string_view timestamp =
            value.size() < rest.size() ? rest.substr(value.size() + 1) : std::string_view();
        auto v = parse_value(value);
        if (!v) {
            return fail("the value is not a number");
        }
        if (value.size() < rest.size() &&
            (timestamp.empty() ||
             timestamp.find_first_not_of("-0123456789") != std::string_view::npos)) {
            return fail("the timestamp is not an integer");
        }
        s.value = *v;
        out.push_back(std::move(s));
    }
    return out;
}

std::optional<double> find_sample(const std::vector<sample>& samples, std::string_view name,
                                  const std::vector<std::pair<std::string, std::string>>& labels) {
    for (const auto& s : samples) {
        if (s.name == name && std::all_of(labels.begin(), labels.end(), [&](const auto& l) {
                return s.label(l.first) == l.second;
            })) {
            return s.value;
        }
    }
    return std::nullopt;
}

}  // namespace vhostmail::metrics
