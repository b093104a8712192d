// SPDX-License-Identifier: Apache-2.0
// admin_scope.cc - admin_store's limits for domain administrators, and the login record the
// admin tool authenticates them with. The checks live in the store, not in the commands, so
// every way into a change (a command, an import line) meets them.
#include <algorithm>
#include <iterator>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/vhost/admin_settings.hh"
#include "lib/vhost/admin_store.hh"

namespace vhostmail::vhost {

namespace {

// Domain settings a domain administrator may change: none of them raises a limit, runs a
// program or reaches beyond the domain.
constexpr std::string_view domain_admin_domain_settings[] = {
    "description", "fullname_matching", "fallback", "accepts_mail", "reject_text"};

// Address settings they may not: a Maildir path could point into another domain's mail.
constexpr std::string_view superadmin_address_settings[] = {"maildir"};

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

admin_result<done> admin_store::scoped_settings(const settings& s, bool domain) const {
    if (!scope_) {
        return done{};
    }
    for (const auto& [name, value] : s) {
        bool allowed = domain ? std::ranges::find(domain_admin_domain_settings, name) !=
                                    std::end(domain_admin_domain_settings)
                              : std::ranges::find(superadmin_address_settings, name) ==
                                    std::end(superadmin_address_settings);
        if (domain && name == "fallback" && value.starts_with("|")) {
            allowed = false;  // a command runs on the mail host
        }
        if (!allowed) {
            return superadmin_only("setting " + printable(name) +
                                   (name == "fallback" ? " to a command" : ""));
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
