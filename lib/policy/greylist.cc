// SPDX-License-Identifier: Apache-2.0
#include "lib/policy/greylist.hh"

#include "lib/core/network.hh"
#include "lib/core/strings.hh"

namespace vhostmail::policy {

bool domain_matches(std::string_view name, std::string_view domain) {
    if (domain.empty() || name.size() < domain.size()) {
        return false;
    }
    std::string_view tail = name.substr(name.size() - domain.size());
    if (!iequals(tail, domain)) {
        return false;
    }
    return name.size() == domain.size() || name[name.size() - domain.size() - 1] == '.';
}

std::optional<greylist_whitelist> greylist_whitelist::parse(
    const std::vector<std::string>& networks, const std::vector<std::string>& names,
    const std::vector<std::string>& domains, std::string* error) {
    greylist_whitelist w;
    for (const auto& n : networks) {
        auto c = cidr::parse(n);
        if (!c) {
            if (error) {
                *error = "\"" + n + "\" is not an IP address or network (a.b.c.d/len, x::/len)";
            }
            return std::nullopt;
        }
        w.networks.push_back(*c);
    }
    w.client_names = names;
    w.recipient_domains = domains;
    return w;
}

std::string greylist_whitelist::exempt(std::string_view client_address,
                                       std::string_view client_name,
                                       std::string_view recipient) const {
    for (const auto& n : networks) {
        if (n.contains(client_address)) {
            return "client network " + n.text();
        }
    }
    if (client_name != "unknown") {
        for (const auto& name : client_names) {
            if (domain_matches(client_name, name)) {
                return "client name " + name;
            }
        }
    }
    auto at = recipient.rfind('@');
    if (at != std::string_view::npos) {
        for (const auto& d : recipient_domains) {
            if (domain_matches(recipient.substr(at + 1), d)) {
                return "recipient domain " + d;
            }
        }
    }
    return "";
}

greylist_decision decide_greylist(const triplet_state& s, int64_t delay_s, int64_t retry_window_s) {
    if (s.passed) {
        return {greylist_verdict::pass, 0};
    }
    if (s.new_triplet || s.age_s < delay_s) {
        return {greylist_verdict::defer,
                std::max<int64_t>(1, delay_s - std::max<int64_t>(0, s.age_s))};
    }
    if (s.age_s > delay_s + retry_window_s) {
        return {greylist_verdict::restart, delay_s};
    }
    return {greylist_verdict::pass, 0};
}

}  // namespace vhostmail::policy
