// SPDX-License-Identifier: Apache-2.0
// admin_domain_admins.cc - the admin store: domain administrators.
#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/vhost/admin_settings.hh"
#include "lib/vhost/admin_store.hh"
#include "lib/vhost/admin_store_internal.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

admin_result<done> admin_store::add_domain_admin(const std::string& login,
                                                 const std::string& domain) {
    return domain_admin_link(login, domain, true);
}

admin_result<done> admin_store::remove_domain_admin(const std::string& login,
                                                    const std::string& domain) {
    return domain_admin_link(login, domain, false);
}

admin_result<done> admin_store::domain_admin_link(const std::string& login,
                                                  const std::string& domain, bool add) {
    if (auto allowed = superadmin_only("managing domain administrators"); !allowed) {
        return allowed;
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(login, true);
        if (!key) {
            return key.failure();
        }
        auto id = domain_id(domain, false);
        if (!id) {
            return id.failure();
        }
        std::vector<db::param> row{db::param{key->address_id}, db::param{*id}};
        return add ? link_added(conn_.query("INSERT INTO domain_admins (address_id, domain_id)"
                                            " VALUES (?, ?)",
                                            row),
                                "already an administrator of " + domain)
                   : link_removed(conn_.query("DELETE FROM domain_admins WHERE address_id = ? AND"
                                              " domain_id = ?",
                                              row),
                                  "not an administrator of " + domain);
    });
}

admin_result<table> admin_store::list_domain_admins(const std::string& domain) {
    std::vector<db::param> params;
    std::string where;
    if (!domain.empty()) {
        auto id = domain_id(domain, false);
        if (!id) {
            return id.failure();
        }
        where = " WHERE x.domain_id = ?";
        params.push_back(db::param{*id});
    }
    auto r = conn_.query(
        "SELECT t.name, CONCAT(a.local_part, '@', d.name) FROM domain_admins x"
        " JOIN domains t ON t.id = x.domain_id JOIN addresses a ON a.id = x.address_id"
        " JOIN domains d ON d.id = a.domain_id" +
            where + " ORDER BY t.name, 2",
        params);
    if (!r) {
        return db_failure(r.error());
    }
    table t{{"domain", "admin"}, {}};
    for (const auto& row : r->rows) {
        if (!in_scope(row.str(0))) {
            continue;
        }
        t.rows.push_back({row.str(0), row.str(1)});
    }
    return t;
}

}  // namespace vhostmail::vhost
