// SPDX-License-Identifier: Apache-2.0
// admin_dkim.cc - the admin store: DKIM keys (the rows; key files are the admin tool's).
#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/vhost/admin_settings.hh"
#include "lib/vhost/admin_store.hh"
#include "lib/vhost/admin_store_internal.hh"

namespace vhostmail::vhost {

namespace {

// RFC 6376 3.1: a selector is dot-separated sub-domain labels.
bool valid_selector(const std::string& s) {
    return !s.empty() && s.size() <= 63 && valid_domain(s);
}

}  // namespace

admin_result<done> admin_store::add_dkim_key(const dkim_key_row& key) {
    if (auto only = superadmin_only("adding a DKIM key"); !only) {
        return only;
    }
    if (!valid_selector(key.selector)) {
        return admin_failure{"invalid selector \"" + printable(key.selector) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto id = domain_id(key.domain, true);
        if (!id) {
            return id.failure();
        }
        auto r = conn_.query(
            "INSERT INTO dkim_keys (domain_id, selector, algorithm, key_file, public_key)"
            " VALUES (?, ?, ?, ?, ?)",
            {db::param{*id}, db::param{ascii_lower(key.selector)}, db::param{key.algorithm},
             db::param{key.key_file}, db::param{key.public_key}});
        return link_added(r, "selector " + key.selector + " exists already for " + key.domain);
    });
}

admin_result<done> admin_store::activate_dkim_key(const std::string& domain,
                                                  const std::string& selector) {
    if (auto only = superadmin_only("activating a DKIM key"); !only) {
        return only;
    }
    return in_transaction([&]() -> admin_result<done> {
        auto id = domain_id(domain, true);
        if (!id) {
            return id.failure();
        }
        auto key = conn_.query(
            "SELECT algorithm, state FROM dkim_keys WHERE domain_id = ? AND selector = ? FOR "
            "UPDATE",
            {db::param{*id}, db::param{ascii_lower(selector)}});
        if (!key) {
            return db_failure(key.error());
        }
        if (key->rows.empty()) {
            return admin_failure{"no DKIM key " + selector + " for " + domain};
        }
        // The old key stops signing in the same commit the new one starts: no unsigned moment.
        auto retire = conn_.query(
            "UPDATE dkim_keys SET state = 'retired', retired_at = CURRENT_TIMESTAMP"
            " WHERE domain_id = ? AND algorithm = ? AND state = 'active' AND selector <> ?",
            {db::param{*id}, db::param{key->rows.front().str(0)},
             db::param{ascii_lower(selector)}});
        if (!retire) {
            return db_failure(retire.error());
        }
        return executed(
            conn_.query("UPDATE dkim_keys SET state = 'active', activated_at = CURRENT_TIMESTAMP,"
                        " retired_at = NULL WHERE domain_id = ? AND selector = ?",
                        {db::param{*id}, db::param{ascii_lower(selector)}}));
    });
}

admin_result<done> admin_store::retire_dkim_key(const std::string& domain,
                                                const std::string& selector) {
    if (auto only = superadmin_only("retiring a DKIM key"); !only) {
        return only;
    }
    return in_transaction([&]() -> admin_result<done> {
        auto id = domain_id(domain, true);
        if (!id) {
            return id.failure();
        }
        auto r = conn_.query(
            "UPDATE dkim_keys SET state = 'retired', retired_at = CURRENT_TIMESTAMP"
            " WHERE domain_id = ? AND selector = ? AND state <> 'retired'",
            {db::param{*id}, db::param{ascii_lower(selector)}});
        return link_removed(r, "no DKIM key " + selector + " for " + domain + " to retire");
    });
}

admin_result<std::vector<dkim_key_row>> admin_store::dkim_keys(const std::string& domain) {
    std::string sql =
        "SELECT d.name, k.selector, k.algorithm, k.key_file, k.public_key, k.state,"
        " k.created_at, COALESCE(k.activated_at, ''), COALESCE(k.retired_at, '')"
        " FROM dkim_keys k JOIN domains d ON d.id = k.domain_id";
    std::vector<db::param> params;
    if (!domain.empty()) {
        auto id = domain_id(domain, false);
        if (!id) {
            return id.failure();
        }
        sql += " WHERE d.id = ?";
        params.push_back(db::param{*id});
    }
    auto r = conn_.query(sql + " ORDER BY d.name, k.created_at, k.selector", params);
    if (!r) {
        return db_failure(r.error());
    }
    std::vector<dkim_key_row> rows;
    for (const auto& row : r->rows) {
        if (!in_scope(row.str(0))) {
            continue;
        }
        rows.push_back({row.str(0), row.str(1), row.str(2), row.str(3), row.str(4), row.str(5),
                        row.str(6), row.str(7), row.str(8)});
    }
    return rows;
}

admin_result<std::vector<std::string>> admin_store::dkim_names(const std::string& domain) {
    auto id = domain_id(domain, false);
    if (!id) {
        return id.failure();
    }
    auto r = conn_.query(
        "SELECT name FROM domains WHERE id = ? UNION ALL"
        " (SELECT name FROM domain_aliases WHERE domain_id = ? AND enabled ORDER BY name)",
        {db::param{*id}, db::param{*id}});
    if (!r) {
        return db_failure(r.error());
    }
    std::vector<std::string> names;
    for (const auto& row : r->rows) {
        names.push_back(row.str(0));
    }
    return names;
}

}  // namespace vhostmail::vhost
