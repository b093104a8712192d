// SPDX-License-Identifier: Apache-2.0
// budgets.hh - which sending budgets apply to a request, and whether a mailbox is full (pure).
//   login (authenticated):  the config's policyd_login_rate_limits, overridden per budget and
//                           window by the login's domain 'each' rules, then by the address's own
//                           rules (send_limits); plus the domain's 'total' rules, one budget
//                           shared by all its logins.
//   client (unauthenticated only): policyd_client_rate_limits, by client_counting_key (an IPv6
//                           client by its /64).
//   sender (any non-null sender):  policyd_sender_rate_limits, by address_counting_key (case
//                           and +extension variants of an address share its budget; so do
//                           those of a login).
// Recipients per message: the address's rule, else the domain's, else the config's.
// Thread safety: pure functions over immutable tables.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/policy/rate.hh"

namespace vhostmail::policy {

// Budgets from the send_limits table, by lower-case address / domain name.
struct send_limit_table {
    std::unordered_map<std::string, std::vector<rate_rule>> address_rules;
    std::unordered_map<std::string, std::vector<rate_rule>> domain_each, domain_total;
    std::unordered_map<std::string, uint64_t> address_per_message, domain_per_message;
};

// The config file's global budgets.
struct default_budgets {
    std::vector<rate_rule> login{}, sender{}, client{};
    uint64_t recipients_per_message = 0;  // 0: unlimited
    std::string delimiters = "+";         // recipient_delimiter: extensions share a budget
};

struct budget_subject {
    std::string key;  // "login:joe@example.com", "domain:example.com", "sender:..", "client:.."
    std::vector<rate_rule> rules;
    bool login = false;  // the login's own or its domain's: a limit hit is worth a warning

    bool operator==(const budget_subject&) const = default;
};

// Rules of `over` replace those of `base` with the same budget and window; others are added.
void override_rules(std::vector<rate_rule>& base, const std::vector<rate_rule>& over);

// `login` "" when unauthenticated; subjects without rules are left out.
std::vector<budget_subject> budget_subjects(const default_budgets& defaults,
                                            const send_limit_table& table, const std::string& login,
                                            const std::string& sender, const std::string& client);

uint64_t recipients_per_message(uint64_t dflt, const send_limit_table& table,
                                const std::string& login);

// The counter a rule of a subject counts in (the window is stored separately), storable.
std::string counter_key(const budget_subject& subject, const rate_rule& rule);

}  // namespace vhostmail::policy
