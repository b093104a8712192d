// SPDX-License-Identifier: Apache-2.0
// admin_scope.cc - admin_store's limits for domain administrators, and the login record the
// admin tool authenticates them with. The checks live in the store, not in the commands, so
// every way into a change (a command, an import line) meets them.
#include <algorithm>
#include <iterator>
#include <optional>
#include <span>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/vhost/admin_settings.hh"
#include "lib/vhost/admin_store.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

namespace {

// Domain settings a domain administrator may change: none of them raises a limit, runs a
// program or reaches beyond the domain (a fallback that names a command is refused below).
constexpr std::string_view domain_admin_domain_settings[] = {"description", "fullname_matching",
                                                             "fallback",    "accepts_mail",
                                                             "reject_text", "from_any_in_domain"};

// Address settings they may not: a Maildir path could point into another domain's mail.
// Nor a transport: it could send the address's mail to a service on the mail host.
constexpr std::string_view superadmin_address_settings[] = {"maildir", "transport"};

bool listed(std::span<const std::string_view> names, std::string_view name) {
    return std::ranges::find(names, name) != names.end();
}

}  // namespace

admin_result<done> admin_store::in_scope(const std::string& normalized_domain) const {
    if (!scope_ || scope_->domains.contains(ascii_lower(normalized_domain))) {
        return done{};
    }
    return admin_failure{scope_->login + " does not administer " + printable(normalized_domain)};
}

admin_result<done> admin_store::superadmin_only(const std::string& what) const {
    if (!scope_) {
        return done{};
    }
    return admin_failure{what + " is for the superadmin, not for domain administrator " +
                         scope_->login};
}

admin_result<done> admin_store::scoped_settings(const std::vector<std::string>& names,
                                                const std::vector<db::param>& values,
                                                bool domain) const {
    if (!scope_) {
        return done{};
    }
    for (size_t i = 0; i < names.size(); ++i) {
        const std::string& name = names[i];
        bool allowed = domain ? listed(domain_admin_domain_settings, name)
                              : !listed(superadmin_address_settings, name);
        // Decided on the converted value the resolver will read, never on what was typed.
        const auto* text = std::get_if<std::string>(&values[i]);
        bool command = domain && name == "fallback" && text != nullptr &&
                       parse_fallback(*text).what == fallback_rule::kind::command;
        if (!allowed || command) {
            return superadmin_only("setting " + printable(name) + (command ? " to a command" : ""));
        }
    }
    return done{};
}

admin_result<done> admin_store::quotas_within_domain(uint64_t domain_id,
                                                     const std::vector<std::string>& names,
                                                     const std::vector<db::param>& values) {
    if (!scope_) {
        return done{};
    }
    std::optional<db::result> domain_limits;
    for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] != "quota_bytes" && names[i] != "quota_messages") {
            continue;
        }
        if (std::holds_alternative<std::nullptr_t>(values[i])) {
            continue;  // the domain's default
        }
        if (!domain_limits) {  // read once, for the first quota that needs it
            auto r = conn_.query("SELECT quota_bytes, quota_messages FROM domains WHERE id = ?",
                                 {db::param{domain_id}});
            if (!r) {
                return db_failure(r.error());
            }
            if (r->rows.empty()) {
                return done{};
            }
            domain_limits = std::move(*r);
        }
        const auto& row = domain_limits->rows.front();
        size_t column = names[i] == "quota_bytes" ? 0 : 1;
        if (row.is_null(column)) {
            continue;  // the domain sets no limit: any quota is within it
        }
        uint64_t limit = row.u64(column);
        uint64_t wanted = std::get<uint64_t>(values[i]);
        if (wanted == 0 || wanted > limit) {
            return superadmin_only("setting " + names[i] + " " +
                                   (wanted == 0 ? std::string("to unlimited")
                                                : "above the domain's " + std::to_string(limit)));
        }
    }
    return done{};
}

admin_result<done> admin_store::address_in_reach(uint64_t address_id) {
    if (!scope_) {
        return done{};
    }
    // Rights beyond its own domain that only the superadmin can give: administering a domain,
    // and send grants into another domain. (Being the destination of another domain's
    // forwarding also lets it send as that address, but any domain's admin can make that
    // happen to any address: counting it would let them lock other admins out.)
    auto r = conn_.query(
        "SELECT 'administers', d.name FROM domain_admins x JOIN domains d ON d.id = x.domain_id"
        " WHERE x.address_id = ? UNION ALL"
        " SELECT 'may send as addresses of', d.name FROM send_grants g JOIN domains d"
        " ON d.id = g.domain_id WHERE g.address_id = ?",
        {db::param{address_id}, db::param{address_id}});
    if (!r) {
        return db_failure(r.error());
    }
    for (const auto& row : r->rows) {
        if (!scope_->domains.contains(ascii_lower(row.str(1)))) {
            return admin_failure{"that address " + row.str(0) + " " + row.str(1) + ", which " +
                                 scope_->login +
                                 " does not administer: changing it is for the superadmin"};
        }
    }
    return done{};
}

admin_result<done> admin_store::may_manage(const std::string& domain) {
    if (!scope_) {
        return done{};
    }
    auto normalized = normalize_domain(domain);
    if (!normalized) {
        return admin_failure{"invalid domain name \"" + printable(domain) + "\""};
    }
    auto r = conn_.query(
        "SELECT d.name FROM domain_aliases a JOIN domains d ON"
        " d.id = a.domain_id WHERE a.name = ?",
        {db::param{*normalized}});
    if (!r) {
        return db_failure(r.error());
    }
    return in_scope(r->rows.empty() ? *normalized : r->rows.front().str(0));
}

admin_result<admin_login> admin_store::find_login(const std::string& login) {
    admin_login out;
    auto parts = parse_address(login);
    if (!parts) {
        return out;  // not found: the caller answers as for a wrong password
    }
    auto r = conn_.query(
        "SELECT a.id, COALESCE(a.password, '') FROM addresses a JOIN domains d ON"
        " d.id = a.domain_id WHERE d.name = ? AND a.local_part = ? AND a.enabled AND d.enabled",
        {db::param{parts->domain}, db::param{parts->local}});
    if (!r) {
        return db_failure(r.error());
    }
    if (r->rows.empty()) {
        return out;
    }
    out.found = true;
    out.password_hash = r->rows.front().str(1);
    auto domains = conn_.query(
        "SELECT d.name FROM domain_admins x JOIN domains d ON d.id = x.domain_id"
        " WHERE x.address_id = ?",
        {db::param{r->rows.front().u64(0)}});
    if (!domains) {
        return db_failure(domains.error());
    }
    for (const auto& row : domains->rows) {
        out.domains.insert(ascii_lower(row.str(0)));
    }
    return out;
}

}  // namespace vhostmail::vhost
