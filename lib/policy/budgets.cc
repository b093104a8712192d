// SPDX-License-Identifier: Apache-2.0
#include "lib/policy/budgets.hh"

#include <algorithm>

#include "lib/core/address.hh"
#include "lib/core/network.hh"
#include "lib/core/strings.hh"

namespace vhostmail::policy {

namespace {

template <typename Map>
const typename Map::mapped_type* find_in(const Map& m, const std::string& key) {
    auto it = m.find(key);
    return it == m.end() ? nullptr : &it->second;
}

}  // namespace

void override_rules(std::vector<rate_rule>& base, const std::vector<rate_rule>& over) {
    for (const auto& r : over) {
        auto same = std::find_if(base.begin(), base.end(), [&](const rate_rule& b) {
            return b.what == r.what && b.window_s == r.window_s;
        });
        if (same != base.end()) {
            *same = r;
        } else {
            base.push_back(r);
        }
    }
}

std::vector<budget_subject> budget_subjects(const default_budgets& defaults,
                                            const send_limit_table& table, const std::string& login,
                                            const std::string& sender, const std::string& client) {
    std::vector<budget_subject> out;
    if (!login.empty()) {
        std::string key = address_counting_key(login, defaults.delimiters);
        std::string domain = split_address(key).domain;
        std::vector<rate_rule> rules = defaults.login;
        if (auto* each = find_in(table.domain_each, domain)) {
            override_rules(rules, *each);
        }
        if (auto* own = find_in(table.address_rules, key)) {
            override_rules(rules, *own);
        }
        if (!rules.empty()) {
            out.push_back({"login:" + key, std::move(rules), true});
        }
        if (auto* total = find_in(table.domain_total, domain)) {
            out.push_back({"domain:" + domain, *total, true});
        }
    } else if (!client.empty() && !defaults.client.empty()) {
        out.push_back({"client:" + client_counting_key(client), defaults.client, false});
    }
    if (!sender.empty() && !defaults.sender.empty()) {
        out.push_back({"sender:" + address_counting_key(sender, defaults.delimiters),
                       defaults.sender, false});
    }
    return out;
}

uint64_t recipients_per_message(uint64_t dflt, const send_limit_table& table,
                                const std::string& login) {
    if (!login.empty()) {
        if (auto* own = find_in(table.address_per_message, login)) {
            return *own;
        }
        if (auto* dom = find_in(table.domain_per_message, split_address(login).domain)) {
            return *dom;
        }
    }
    return dflt;
}

std::string counter_key(const budget_subject& subject, const rate_rule& rule) {
    return storable_key(subject.key + ":" + std::string(to_string(rule.what)), 400);
}

}  // namespace vhostmail::policy
