// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/lookup_maps.hh"

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/store/mailbox_path.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

namespace {

// Every map by its name, in map_kind order.
constexpr std::string_view map_names[map_kind_count] = {
    "domains",     "aliases",    "mailboxes",     "senders",          "srs_forward",
    "srs_reverse", "transports", "relay_domains", "relay_recipients", "relayhosts"};

}  // namespace

std::optional<map_kind> parse_map_name(std::string_view name) {
    for (size_t k = 0; k < map_kind_count; ++k) {
        if (map_names[k] == name) {
            return static_cast<map_kind>(k);
        }
    }
    return std::nullopt;
}

std::string_view to_string(map_kind map) {
    auto k = static_cast<size_t>(map);
    return k < map_kind_count ? map_names[k] : "?";
}

std::string format_address(std::string_view address) {
    auto parts = split_address(address);
    bool needs_quotes = parts.local.empty();
    for (unsigned char c : parts.local) {
        if (c <= ' ' || c == 0x7f ||
            std::string_view("()<>[]:;@\\,\"").find(static_cast<char>(c)) !=
                std::string_view::npos) {
            needs_quotes = true;
            break;
        }
    }
    if (!needs_quotes || !parts.has_at) {
        return std::string(address);
    }
    std::string out = "\"";
    for (char c : parts.local) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += "\"@" + parts.domain;
    return out;
}

namespace {

using answer_t = lookup<std::string>;

answer_t from_resolution_failure(const vhost::resolution& r) {
    if (r.status == lookup_status::temp_fail) {
        return answer_t::temp_fail(r.reason);
    }
    return answer_t::not_found();
}

// The enabled hosted domain (or domain alias) `name`, whatever its role; not found for
// disabled domains and for names that are not domains.
lookup<domain_view> enabled_domain(std::string_view name, directory& dir) {
    auto normalized = normalize_domain(name);
    if (!normalized) {
        return lookup<domain_view>::not_found();
    }
    auto d = dir.find_domain(*normalized);
    if (d.status == lookup_status::found && !d.value.enabled) {
        return lookup<domain_view>::not_found();
    }
    return d;
}

// The enabled domain `name` when its role is `backup` (true) or primary (false).
lookup<domain_view> hosted_domain(std::string_view name, directory& dir, bool backup) {
    auto d = enabled_domain(name, dir);
    if (d.status == lookup_status::found && d.value.backup != backup) {
        return lookup<domain_view>::not_found();
    }
    return d;
}

// Whether the address's domain is a backup domain here (its mail is relayed, never
// delivered): then the delivery maps do not know it.
lookup<bool> in_backup_domain(std::string_view address, directory& dir) {
    auto parts = split_address(address);
    if (!parts.has_at) {
        return lookup<bool>::found(false);
    }
    auto d = hosted_domain(parts.domain, dir, true);
    if (d.status == lookup_status::temp_fail) {
        return {d.status, false, d.reason};
    }
    return lookup<bool>::found(d.status == lookup_status::found);
}

answer_t answer_domain(std::string_view key, directory& dir, bool backup) {
    auto d = hosted_domain(key, dir, backup);
    if (d.status != lookup_status::found) {
        return {d.status, {}, d.reason};
    }
    return answer_t::found(std::string(d.value.name));
}

// A stored next hop or transport that the rule refuses (an edit in SQL) defers the mail until
// an admin repairs it, rather than send it somewhere unintended.
answer_t stored_route(std::string_view value, bool valid, std::string_view what,
                      std::string_view domain) {
    if (value.empty()) {
        return answer_t::not_found();
    }
    if (!valid) {
        return answer_t::temp_fail(std::string(what) + " of " + std::string(domain) +
                                   " refused by the syntax check: " + printable(value));
    }
    return answer_t::found(std::string(value));
}

// Postfix asks a socketmap or tcp transport table with the full recipient address only (never
// its domain), so an address is answered with its own transport, else its domain's; a bare
// domain with the domain's.
answer_t answer_transport(std::string_view key, directory& dir, const resolve_options& options) {
    auto parts = split_address(key);
    if (parts.has_at && parts.local.empty()) {
        return answer_t::not_found();
    }
    auto d = enabled_domain(parts.has_at ? std::string_view(parts.domain) : key, dir);
    if (d.status != lookup_status::found) {
        return {d.status, {}, d.reason};
    }
    if (parts.has_at) {
        // The address's own transport first: the exact local part, else without its
        // +extension (recipient_delimiter), as the resolver finds an address.
        std::string local = ascii_lower(parts.local);
        for (int pass = 0; pass < 2; ++pass) {
            auto a = dir.find_address(d.value, local);
            if (a.status == lookup_status::temp_fail) {
                return {a.status, {}, a.reason};
            }
            if (a.status == lookup_status::found && a.value.enabled && !a.value.transport.empty()) {
                return stored_route(a.value.transport, valid_transport(a.value.transport),
                                    "transport", local + "@" + std::string(d.value.name));
            }
            auto cut = local.find_first_of(options.delimiters);
            if (cut == std::string::npos || cut == 0) {
                break;
            }
            local.resize(cut);
        }
    }
    return stored_route(d.value.transport, valid_transport(d.value.transport), "transport",
                        d.value.name);
}

answer_t answer_relayhost(std::string_view key, directory& dir) {
    auto parts = split_address(key);
    if (!parts.has_at) {
        return answer_t::not_found();
    }
    auto d = enabled_domain(parts.domain, dir);
    if (d.status != lookup_status::found) {
        return {d.status, {}, d.reason};
    }
    return stored_route(d.value.relayhost, valid_nexthop(d.value.relayhost), "relayhost",
                        d.value.name);
}

// The primary's answer for an address of a backup domain: "OK" when it leads somewhere.
answer_t answer_relay_recipient(std::string_view key, directory& dir,
                                const resolve_options& options) {
    auto backup = in_backup_domain(key, dir);
    if (backup.status != lookup_status::found) {
        return {backup.status, {}, backup.reason};
    }
    auto parts = split_address(key);
    if (!backup.value || parts.local.empty()) {
        return answer_t::not_found();
    }
    auto r = vhost::resolve(dir, key, options);
    if (r.status != lookup_status::found) {
        return from_resolution_failure(r);
    }
    return answer_t::found("OK");
}

answer_t answer_alias(std::string_view key, directory& dir, const resolve_options& options,
                      answer_notes* notes) {
    auto backup = in_backup_domain(key, dir);
    if (backup.status != lookup_status::found || backup.value) {
        return {backup.status == lookup_status::found ? lookup_status::not_found : backup.status,
                {},
                backup.reason};
    }
    auto r = vhost::resolve(dir, key, options);
    if (notes != nullptr && r.reason.starts_with("alias loop")) {
        notes->loop = r.reason;
    }
    if (r.status != lookup_status::found) {
        return from_resolution_failure(r);
    }
    auto self = parse_address(key);
    if (self && r.destinations.size() == 1) {
        const auto& only = r.destinations.front();
        if (only.kind == vhost::destination_kind::mailbox &&
            iequals(only.address, self->local + "@" + self->domain)) {
            return answer_t::not_found();  // its own mailbox: virtual_mailbox_maps answers
        }
    }
    std::string value;
    for (const auto& d : r.destinations) {
        if (!value.empty()) {
            value += ',';
        }
        value += format_address(d.address);
    }
    return answer_t::found(std::move(value));
}

answer_t answer_mailbox(std::string_view key, directory& dir, const resolve_options& options) {
    auto self = parse_address(key);
    if (!self) {
        return answer_t::not_found();
    }
    auto backup = in_backup_domain(key, dir);
    if (backup.status != lookup_status::found || backup.value) {
        return {backup.status == lookup_status::found ? lookup_status::not_found : backup.status,
                {},
                backup.reason};
    }
    auto r = vhost::resolve(dir, key, options);
    if (r.status != lookup_status::found) {
        return from_resolution_failure(r);
    }
    std::string normalized = self->local + "@" + self->domain;
    for (const auto& d : r.destinations) {
        if (d.kind == vhost::destination_kind::mailbox && iequals(d.address, normalized)) {
            // virtual(8) writes where this answer says: a path that the delivery agents would
            // refuse (absolute, "..", control bytes, a local part with '/') defers the mail
            // instead, until an admin repairs the row.
            if (auto path = store::check_mailbox_path(d.maildir); !path.ok()) {
                return answer_t::temp_fail("Maildir path of " + normalized +
                                           " refused: " + path.error);
            }
            return answer_t::found(d.maildir);
        }
    }
    return answer_t::not_found();
}

answer_t answer_sender(std::string_view key, directory& dir, const resolve_options& options) {
    auto logins = vhost::sender_logins(dir, key, options);
    if (logins.status != lookup_status::found) {
        return {logins.status, {}, logins.reason};
    }
    std::string value;
    for (const auto& login : logins.value) {
        if (!value.empty()) {
            value += ',';
        }
        value += login;
    }
    return answer_t::found(std::move(value));
}

// Senders in our own (primary) domains keep their address: SPF there names this host already.
answer_t answer_srs_forward(std::string_view key, directory& dir, const resolve_options& options) {
    if (options.srs == nullptr) {
        return answer_t::not_found();
    }
    auto parts = split_address(key);
    auto domain = normalize_domain(parts.domain);
    if (!parts.has_at || parts.local.empty() || !domain) {
        return answer_t::not_found();
    }
    auto ours = dir.find_domain(*domain);
    if (ours.status == lookup_status::temp_fail) {
        return {ours.status, {}, ours.reason};
    }
    // A backup domain's senders are not ours: SPF there names its primary, not this host.
    if (ours.status == lookup_status::found && !ours.value.backup) {
        return answer_t::not_found();
    }
    auto rewritten = options.srs->forward(key, options.now);
    return rewritten ? answer_t::found(std::move(*rewritten)) : answer_t::not_found();
}

answer_t answer_srs_reverse(std::string_view key, const resolve_options& options) {
    if (options.srs == nullptr) {
        return answer_t::not_found();
    }
    auto r = options.srs->reverse(key, options.now);
    if (r.status != srs::reverse_status::ok) {
        return {lookup_status::not_found, {}, std::string(srs::describe(r.status))};
    }
    return answer_t::found(std::move(r.address));
}

}  // namespace

lookup<std::string> answer(map_kind map, std::string_view key, directory& dir,
                           const resolve_options& options, answer_notes* notes) {
    switch (map) {
        case map_kind::domains:
            return answer_domain(key, dir, false);
        case map_kind::aliases:
            return answer_alias(key, dir, options, notes);
        case map_kind::mailboxes:
            return answer_mailbox(key, dir, options);
        case map_kind::senders:
            return answer_sender(key, dir, options);
        case map_kind::srs_forward:
            return answer_srs_forward(key, dir, options);
        case map_kind::srs_reverse:
            return answer_srs_reverse(key, options);
        case map_kind::transports:
            return answer_transport(key, dir, options);
        case map_kind::relay_domains:
            return answer_domain(key, dir, true);
        case map_kind::relay_recipients:
            return answer_relay_recipient(key, dir, options);
        case map_kind::relayhosts:
            return answer_relayhost(key, dir);
    }
    return answer_t::temp_fail("unknown map");
}

}  // namespace vhostmail::vhost
