// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/resolver.hh"

#include <algorithm>
#include <unordered_map>
#include <utility>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"

namespace vhostmail::vhost {

std::string_view to_string(destination_kind kind) {
    switch (kind) {
        case destination_kind::mailbox:
            return "mailbox";
        case destination_kind::autoreply:
            return "autoreply";
        case destination_kind::command:
            return "command";
        case destination_kind::remote:
            return "remote";
    }
    return "?";
}

namespace {

enum class outcome { deliverable, dead, temp };

// Adds "+ext" to the local part of `address` (Postfix propagate_unmatched_extensions).
std::string with_extension(std::string_view address, char delimiter, std::string_view extension) {
    auto at = address.rfind('@');
    std::string out(address.substr(0, at));
    out += delimiter;
    out += extension;
    if (at != std::string_view::npos) {
        out += address.substr(at);
    }
    return out;
}

class expander {
public:
    expander(directory& dir, const resolve_options& options, resolution& result)
        : dir_(dir), options_(options), result_(result) {}

    outcome expand(std::string_view address, unsigned depth);

private:
    outcome dead(std::string why);

    // Callers test options_.trace first, so a lookup that needs no trace builds no strings.
    void note(std::string step) { result_.trace.push_back(std::move(step)); }

    outcome temp(std::string why);
    outcome add(destination dest);
    outcome expand_local(const domain_view& domain, const std::string& local,
                         std::string_view original_local, unsigned depth);
    outcome expand_record(const domain_view& domain, const address_view& record,
                          const std::optional<extension_split>& ext, unsigned depth);
    outcome expand_fallback(const domain_view& domain, const std::string& local, unsigned depth);

    directory& dir_;
    const resolve_options& options_;
    resolution& result_;
    enum class memo_state { in_progress, deliverable, dead };
    std::unordered_map<std::string, memo_state> memo_;
};

outcome expander::dead(std::string why) {
    if (options_.trace) {
        note("dead end: " + why);
    }
    if (result_.reason.empty()) {
        result_.reason = std::move(why);
    }
    return outcome::dead;
}

outcome expander::temp(std::string why) {
    result_.reason = std::move(why);
    return outcome::temp;
}

outcome expander::add(destination dest) {
    for (const auto& d : result_.destinations) {
        if (d.kind == dest.kind && d.address == dest.address) {
            return outcome::deliverable;
        }
    }
    if (result_.destinations.size() >= options_.max_destinations) {
        return temp("expansion exceeds " + std::to_string(options_.max_destinations) +
                    " destinations");
    }
    if (options_.trace) {
        note(std::string(to_string(dest.kind)) + " " + dest.address);
    }
    result_.destinations.push_back(std::move(dest));
    return outcome::deliverable;
}

outcome expander::expand(std::string_view address, unsigned depth) {
    if (depth > options_.max_depth) {
        return dead("alias nesting deeper than " + std::to_string(options_.max_depth));
    }
    auto parts = split_address(address);
    auto domain_name = normalize_domain(parts.domain);
    if (!parts.has_at || !domain_name || !valid_local_part(parts.local)) {
        return dead("invalid address \"" + std::string(address) + "\"");
    }
    auto domain = dir_.find_domain(*domain_name);
    if (domain.status == lookup_status::temp_fail) {
        return temp(domain.reason);
    }
    if (domain.status == lookup_status::not_found) {
        if (depth == 0) {
            return dead("domain " + *domain_name + " is not hosted here");
        }
        return add({.kind = destination_kind::remote, .address = parts.local + "@" + *domain_name});
    }
    const domain_view& dom = domain.value;
    const std::string dom_name(dom.name);
    if (*domain_name != dom.name) {
        if (options_.trace) {
            note("domain alias " + *domain_name + " -> " + dom_name);
        }
    }
    if (options_.visible_domains != nullptr && !options_.visible_domains->contains(dom_name)) {
        std::string where = normalize_local_part(parts.local) + "@" + dom_name;
        if (options_.trace) {
            note("leaves your domains at " + where + ": not shown");
        }
        result_.outside_scope.push_back(where);
        return outcome::deliverable;
    }
    if (!dom.enabled) {
        return dead("domain " + dom_name + " is disabled");
    }
    if (!dom.accepts_mail) {
        if (depth == 0) {
            result_.rejected_by_domain = true;
            result_.reject_text = dom.reject_text;
        }
        return dead("domain " + dom_name + " does not accept mail");
    }
    std::string local = normalize_local_part(parts.local);
    std::string key = local + "@" + dom_name;
    auto memo = memo_.find(key);
    if (memo != memo_.end()) {
        if (memo->second == memo_state::in_progress) {
            return dead("alias loop at " + key);
        }
        return memo->second == memo_state::deliverable ? outcome::deliverable : outcome::dead;
    }
    memo_[key] = memo_state::in_progress;
    if (options_.trace) {
        note("address " + key);
    }
    outcome r = expand_local(dom, local, parts.local, depth);
    memo_[key] = r == outcome::deliverable ? memo_state::deliverable : memo_state::dead;
    return r;
}

outcome expander::expand_local(const domain_view& dom, const std::string& local,
                               std::string_view original_local, unsigned depth) {
    auto exact = dir_.find_address(dom, local);
    if (exact.status == lookup_status::temp_fail) {
        return temp(exact.reason);
    }
    if (exact.ok()) {
        return expand_record(dom, exact.value, std::nullopt, depth);
    }
    // The extension keeps its case (it is propagated as the sender wrote it); the base folds.
    if (auto ext = split_extension(original_local, options_.delimiters)) {
        ext->base = normalize_local_part(ext->base);
        auto base = dir_.find_address(dom, ext->base);
        if (base.status == lookup_status::temp_fail) {
            return temp(base.reason);
        }
        if (base.ok()) {
            return expand_record(dom, base.value, ext, depth);
        }
    }
    if (dom.fullname_matching && options_.use_full_name) {
        auto named = dir_.find_full_name(dom, normalize_full_name(local));
        if (named.status == lookup_status::temp_fail) {
            return temp(named.reason);
        }
        if (named.ok()) {
            if (options_.trace) {
                note("full name \"" + std::string(named.value.full_name) + "\"");
            }
            return expand_record(dom, named.value, std::nullopt, depth);
        }
    }
    if (options_.use_fallback && parse_fallback(dom.fallback).what != fallback_rule::kind::none) {
        return expand_fallback(dom, local, depth);
    }
    return dead("no address " + local + "@" + std::string(dom.name) + " and no fallback");
}

outcome expander::expand_record(const domain_view& dom, const address_view& record,
                                const std::optional<extension_split>& ext, unsigned depth) {
    std::string base = std::string(record.local_part) + "@" + std::string(dom.name);
    if (!record.enabled) {
        return dead("address " + base + " is disabled");
    }
    result_.visited.push_back(base);
    bool propagate = ext && options_.propagate_extension;
    std::string self = propagate ? with_extension(base, ext->delimiter, ext->extension) : base;
    std::string extension = propagate ? ext->extension : std::string();
    outcome result = outcome::dead;
    bool vacation = record.vacation && record.vacation->active_at(options_.now);
    if (record.mailbox || vacation) {
        result =
            add({.kind = record.mailbox ? destination_kind::mailbox : destination_kind::autoreply,
                 .address = self,
                 .maildir = record.maildir(),
                 .base_local = std::string(record.local_part),
                 .extension = extension,
                 .address_id = record.id,
                 .quota = record.mailbox ? mailbox_quota(dom, record) : store::quota_limits{},
                 .vacation = vacation,
                 .filter_command = std::string(dom.filter_command)});
    }
    if (result == outcome::temp) {
        return result;
    }
    for (std::string_view forward : record.forwards) {
        std::string target = propagate ? with_extension(forward, ext->delimiter, ext->extension)
                                       : std::string(forward);
        outcome r = expand(target, depth + 1);
        if (r == outcome::temp) {
            return r;
        }
        if (r == outcome::deliverable) {
            result = r;
        }
    }
    if (result == outcome::dead) {
        return dead("address " + base + " leads nowhere deliverable");
    }
    return result;
}

outcome expander::expand_fallback(const domain_view& dom, const std::string& local,
                                  unsigned depth) {
    fallback_rule rule = parse_fallback(dom.fallback);
    if (options_.trace) {
        note("fallback of " + std::string(dom.name) + ": " + fallback_text(rule));
    }
    switch (rule.what) {
        case fallback_rule::kind::none:
            break;
        case fallback_rule::kind::command: {
            auto base = split_extension(local, options_.delimiters);
            return add({.kind = destination_kind::command,
                        .address = local + "@" + std::string(dom.name),
                        .command = rule.target,
                        .base_local = base ? base->base : local,
                        .extension = base ? base->extension : std::string(),
                        .filter_command = std::string(dom.filter_command)});
        }
        case fallback_rule::kind::domain:
            return expand(local + "@" + rule.target, depth + 1);
        case fallback_rule::kind::address:
            return expand(rule.target, depth + 1);
        case fallback_rule::kind::local:
            return expand(rule.target + "@" + std::string(dom.name), depth + 1);
    }
    return dead("no address " + local + "@" + std::string(dom.name) + " and no fallback");
}

// A login is an enabled address with a password, in an enabled domain, allowed to use SMTP.
lookup<bool> is_smtp_login(directory& dir, std::string_view login) {
    auto parts = split_address(login);
    auto domain = dir.find_domain(ascii_lower(parts.domain));
    if (domain.status != lookup_status::found) {
        return {domain.status, false, domain.reason};
    }
    const domain_view& dom = domain.value;
    if (dom.name != ascii_lower(parts.domain) || !dom.enabled || !(dom.logins & login_smtp)) {
        return lookup<bool>::found(false);
    }
    auto address = dir.find_address(dom, normalize_local_part(parts.local));
    if (address.status != lookup_status::found) {
        return {address.status, false, address.reason};
    }
    const address_view& a = address.value;
    return lookup<bool>::found(a.enabled && a.has_password && (a.logins & login_smtp));
}

}  // namespace

store::quota_limits mailbox_quota(const domain_view& domain, const address_view& address) {
    return {address.quota_bytes.value_or(domain.quota_bytes.value_or(0)),
            address.quota_messages.value_or(domain.quota_messages.value_or(0))};
}

resolution resolve(directory& dir, std::string_view address, const resolve_options& options) {
    resolution result;
    expander ex(dir, options, result);
    outcome r = ex.expand(address, 0);
    if (r == outcome::temp) {
        result.status = lookup_status::temp_fail;
        result.destinations.clear();
    } else if (r == outcome::deliverable && !result.destinations.empty()) {
        result.status = lookup_status::found;
    } else {
        result.status = lookup_status::not_found;
        result.destinations.clear();
    }
    return result;
}

lookup<std::vector<std::string>> sender_logins(directory& dir, std::string_view sender,
                                               const resolve_options& options) {
    using result_t = lookup<std::vector<std::string>>;
    auto parsed = parse_address(sender);
    if (!parsed) {
        return result_t::not_found();
    }
    auto domain = dir.find_domain(parsed->domain);
    if (domain.status != lookup_status::found) {
        return {domain.status, {}, domain.reason};
    }
    const domain_view& dom = domain.value;
    if (!dom.enabled) {
        return result_t::not_found();
    }
    resolve_options explicit_only = options;
    explicit_only.use_fallback = false;
    explicit_only.use_full_name = false;
    resolution routed = resolve(dir, sender, explicit_only);
    if (routed.status == lookup_status::temp_fail) {
        return result_t::temp_fail(routed.reason);
    }
    std::vector<std::string> candidates = routed.visited;
    auto base = split_extension(parsed->local, options.delimiters);
    auto grants = dir.sender_grants(dom, base ? base->base : parsed->local);
    if (grants.status == lookup_status::temp_fail) {
        return result_t::temp_fail(grants.reason);
    }
    candidates.insert(candidates.end(), grants.value.begin(), grants.value.end());

    std::vector<std::string> logins;
    for (const auto& candidate : candidates) {
        if (std::find(logins.begin(), logins.end(), candidate) != logins.end()) {
            continue;
        }
        auto ok = is_smtp_login(dir, candidate);
        if (ok.status == lookup_status::temp_fail) {
            return result_t::temp_fail(ok.reason);
        }
        if (ok.ok() && ok.value) {
            logins.push_back(candidate);
        }
    }
    if (logins.empty()) {
        return result_t::not_found();
    }
    return result_t::found(std::move(logins));
}

lookup<bool> may_send_as(directory& dir, std::string_view login, std::string_view sender,
                         const resolve_options& options) {
    auto logins = sender_logins(dir, sender, options);
    if (logins.status == lookup_status::temp_fail) {
        return lookup<bool>::temp_fail(logins.reason);
    }
    return lookup<bool>::found(
        logins.status == lookup_status::found &&
        std::any_of(logins.value.begin(), logins.value.end(),
                    [&](const std::string& l) { return iequals(l, login); }));
}

}  // namespace vhostmail::vhost
