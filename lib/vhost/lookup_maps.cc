// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/lookup_maps.hh"

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/store/mailbox_path.hh"

namespace vhostmail::vhost {

std::optional<map_kind> parse_map_name(std::string_view name) {
    if (name == "domains") {
        return map_kind::domains;
    }
    if (name == "aliases") {
        return map_kind::aliases;
    }
    if (name == "mailboxes") {
        return map_kind::mailboxes;
    }
    if (name == "senders") {
        return map_kind::senders;
    }
    if (name == "srs_forward") {
        return map_kind::srs_forward;
    }
    if (name == "srs_reverse") {
        return map_kind::srs_reverse;
    }
    return std::nullopt;
}

std::string_view to_string(map_kind map) {
    switch (map) {
        case map_kind::domains:
            return "domains";
        case map_kind::aliases:
            return "aliases";
        case map_kind::mailboxes:
            return "mailboxes";
        case map_kind::senders:
            return "senders";
        case map_kind::srs_forward:
            return "srs_forward";
        case map_kind::srs_reverse:
            return "srs_reverse";
    }
    return "?";
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

answer_t answer_domain(std::string_view key, directory& dir) {
    auto name = normalize_domain(key);
    if (!name) {
        return answer_t::not_found();
    }
    auto d = dir.find_domain(*name);
    if (d.status != lookup_status::found) {
        return {d.status, {}, d.reason};
    }
    if (!d.value.enabled) {
        return answer_t::not_found();
    }
    return answer_t::found(std::string(d.value.name));
}

answer_t answer_alias(std::string_view key, directory& dir, const resolve_options& options,
                      answer_notes* notes) {
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

// Senders in our own domains keep their address: SPF there names this host already.
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
    if (ours.status == lookup_status::found) {
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
            return answer_domain(key, dir);
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
    }
    return answer_t::temp_fail("unknown map");
}

}  // namespace vhostmail::vhost
