// SPDX-License-Identifier: Apache-2.0
#include "lib/policy/checks.hh"

#include <algorithm>
#include <iterator>
#include <string_view>

namespace vhostmail::policy {

namespace {

struct named_check {
    std::string_view name;
    check bit;
};

constexpr named_check check_names[] = {
    {"sender_login", check_sender_login}, {"hosted_sender", check_hosted_sender},
    {"recipient", check_recipient},       {"rate_limit", check_rate_limit},
    {"greylist", check_greylist},
};

}  // namespace

std::optional<unsigned> parse_checks(const std::vector<std::string>& names, std::string* error) {
    unsigned mask = 0;
    for (const auto& n : names) {
        auto it = std::find_if(std::begin(check_names), std::end(check_names),
                               [&](const named_check& c) { return c.name == n; });
        if (it == std::end(check_names)) {
            if (error) {
                *error = "unknown check \"" + n +
                         "\" (sender_login, hosted_sender, recipient, rate_limit, greylist)";
            }
            return std::nullopt;
        }
        mask |= it->bit;
    }
    return mask;
}

std::string_view check_name(check bit) {
    for (const auto& c : check_names) {
        if (c.bit == bit) {
            return c.name;
        }
    }
    return "";
}

const std::vector<check>& all_checks() {
    static const std::vector<check> all = [] {
        std::vector<check> out;
        for (const auto& c : check_names) {
            out.push_back(c.bit);
        }
        return out;
    }();
    return all;
}

}  // namespace vhostmail::policy
