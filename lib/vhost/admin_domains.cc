// SPDX-License-Identifier: Apache-2.0
// admin_domains.cc - the admin store: domains and domain aliases.
#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/vhost/admin_settings.hh"
#include "lib/vhost/admin_store.hh"
#include "lib/vhost/admin_store_internal.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

admin_result<done> admin_store::add_domain(const std::string& name, const settings& s) {
    if (auto allowed = superadmin_only("adding a domain"); !allowed) {
        return allowed;
    }
    auto normalized = normalize_domain(name);
    if (!normalized) {
        return admin_failure{"invalid domain name \"" + printable(name) + "\""};
    }
    std::vector<std::string> names{"name"};
    std::vector<db::param> values{db::param{*normalized}};
    if (auto bad = bind_settings(domain_columns, s, names, values)) {
        return admin_failure{*bad};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto r = conn_.query(insertion("domains", names), values);
        if (!r) {
            auto f = db_failure(r.error());
            return r.error().code == 1062
                       ? admin_failure{"domain " + *normalized + " already exists"}
                       : f;
        }
        return done{};
    });
}

admin_result<done> admin_store::remove_domain(const std::string& name) {
    if (auto allowed = superadmin_only("removing a domain"); !allowed) {
        return allowed;
    }
    return in_transaction([&]() -> admin_result<done> {
        auto id = domain_id(name, true);
        if (!id) {
            return id.failure();
        }
        auto r = conn_.query("DELETE FROM domains WHERE id = ?", {db::param{*id}});
        return executed(r);
    });
}

admin_result<done> admin_store::set_domain(const std::string& name, const settings& s) {
    std::vector<std::string> names;
    std::vector<db::param> values;
    if (auto ok = columns_to_set(domain_columns, s, true, names, values); !ok) {
        return ok;
    }
    return in_transaction([&]() -> admin_result<done> {
        auto id = domain_id(name, true);
        if (!id) {
            return id.failure();
        }
        values.push_back(db::param{*id});
        auto r = conn_.query("UPDATE domains SET " + assignments(names) + " WHERE id = ?", values);
        return executed(r);
    });
}

admin_result<table> admin_store::list_domains() {
    auto r = conn_.query(
        "SELECT d.name, IF(d.enabled, 'yes', 'no'), IF(d.accepts_mail, 'yes', 'no'),"
        " (SELECT COUNT(*) FROM addresses a WHERE a.domain_id = d.id AND a.mailbox),"
        " (SELECT COUNT(*) FROM addresses a WHERE a.domain_id = d.id AND NOT a.mailbox),"
        " COALESCE((SELECT GROUP_CONCAT(x.name ORDER BY x.name SEPARATOR ',') FROM"
        " domain_aliases x WHERE x.domain_id = d.id), ''), d.fallback FROM domains d"
        " ORDER BY d.name");
    if (!r) {
        return db_failure(r.error());
    }
    table t{
        {"domain", "enabled", "accepts_mail", "mailboxes", "aliases", "domain_aliases", "fallback"},
        {}};
    for (const auto& row : r->rows) {
        if (!in_scope(row.str(0))) {
            continue;  // a domain administrator sees only their own domains
        }
        std::vector<std::string> cells;
        for (size_t i = 0; i < t.columns.size(); ++i) {
            cells.push_back(row.str(i));
        }
        t.rows.push_back(std::move(cells));
    }
    return t;
}

admin_result<std::set<std::string>> admin_store::hosted_names() {
    auto r = conn_.query("SELECT name FROM domains UNION SELECT name FROM domain_aliases");
    if (!r) {
        return db_failure(r.error());
    }
    std::set<std::string> names;
    for (const auto& row : r->rows) {
        if (in_scope(row.str(0))) {
            names.insert(row.str(0));
        }
    }
    return names;
}

admin_result<admin_store::routing_use> admin_store::routing_in_use() {
    auto r = conn_.query(
        "SELECT name, role = 'backup', transport <> '', relayhost <> '' FROM domains"
        " WHERE enabled AND (role = 'backup' OR transport <> '' OR relayhost <> '')");
    if (!r) {
        return db_failure(r.error());
    }
    routing_use out;
    for (const auto& row : r->rows) {
        if (row.boolean(1)) {
            out.backup_domains.insert(ascii_lower(row.str(0)));
        }
        out.transports = out.transports || row.boolean(2);
        out.relayhosts = out.relayhosts || row.boolean(3);
    }
    return out;
}

admin_result<fields> admin_store::show_domain(const std::string& name) {
    auto id = domain_id(name, false);
    if (!id) {
        return id.failure();
    }
    std::vector<std::string> names{"name"};
    std::string cols = "name";
    for (const auto& c : domain_columns) {
        names.push_back(c.name);
        cols += std::string(", ") + c.name;
    }
    auto r = conn_.query("SELECT " + cols + " FROM domains WHERE id = ?", {db::param{*id}});
    if (!r) {
        return db_failure(r.error());
    }
    fields f = row_fields(*r, names);
    auto extra = conn_.query(
        "SELECT COALESCE((SELECT GROUP_CONCAT(name ORDER BY name SEPARATOR ',') FROM"
        " domain_aliases WHERE domain_id = ?), ''),"
        " (SELECT COUNT(*) FROM addresses WHERE domain_id = ? AND mailbox),"
        " (SELECT COUNT(*) FROM addresses WHERE domain_id = ? AND NOT mailbox),"
        " COALESCE((SELECT GROUP_CONCAT(CONCAT(a.local_part, '@', d.name) SEPARATOR ',') FROM"
        " domain_admins x JOIN addresses a ON a.id = x.address_id JOIN domains d ON"
        " d.id = a.domain_id WHERE x.domain_id = ?), '')",
        {db::param{*id}, db::param{*id}, db::param{*id}, db::param{*id}});
    if (!extra) {
        return db_failure(extra.error());
    }
    auto more = row_fields(*extra, {"domain_aliases", "mailboxes", "aliases", "admins"});
    f.insert(f.end(), more.begin(), more.end());
    return f;
}

admin_result<done> admin_store::add_domain_alias(const std::string& alias,
                                                 const std::string& domain) {
    if (auto allowed = superadmin_only("adding a domain alias"); !allowed) {
        return allowed;
    }
    auto normalized = normalize_domain(alias);
    if (!normalized) {
        return admin_failure{"invalid domain name \"" + printable(alias) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto id = domain_id(domain, true);
        if (!id) {
            return id.failure();
        }
        auto r = conn_.query("INSERT INTO domain_aliases (name, domain_id) VALUES (?, ?)",
                             {db::param{*normalized}, db::param{*id}});
        if (!r) {
            return r.error().code == 1062
                       ? admin_failure{"domain alias " + *normalized + " already exists"}
                       : db_failure(r.error());
        }
        return done{};
    });
}

admin_result<done> admin_store::remove_domain_alias(const std::string& alias) {
    if (auto allowed = superadmin_only("removing a domain alias"); !allowed) {
        return allowed;
    }
    auto normalized = normalize_domain(alias);
    if (!normalized) {
        return admin_failure{"invalid domain name \"" + printable(alias) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto r = conn_.query("DELETE FROM domain_aliases WHERE name = ?", {db::param{*normalized}});
        if (!r) {
            return db_failure(r.error());
        }
        if (r->affected_rows == 0) {
            return admin_failure{"no such domain alias " + *normalized};
        }
        return done{};
    });
}

}  // namespace vhostmail::vhost
