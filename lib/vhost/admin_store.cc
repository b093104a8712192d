// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/admin_store.hh"

#include <cstdlib>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/vhost/admin_settings.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

namespace {

fields row_fields(const db::result& r, const std::vector<std::string>& names) {
    fields out;
    if (!r.rows.empty()) {
        for (size_t i = 0; i < names.size(); ++i) {
            out.emplace_back(names[i], r.rows.front().str(i));
        }
    }
    return out;
}

// The result of a change that returns nothing but may fail.
admin_result<done> executed(const db::outcome<db::result>& r) {
    return r ? admin_result<done>(done{}) : admin_result<done>(db_failure(r.error()));
}

// "INSERT INTO table (a, b) VALUES (?, ?)" over fixed column names (never user input).
std::string insertion(const std::string& table, const std::vector<std::string>& names) {
    std::string cols, marks;
    for (size_t i = 0; i < names.size(); ++i) {
        cols += (i == 0 ? "" : ", ") + names[i];
        marks += i == 0 ? "?" : ", ?";
    }
    return "INSERT INTO " + table + " (" + cols + ") VALUES (" + marks + ")";
}

}  // namespace

template <typename F>
admin_result<done> admin_store::in_transaction(F&& body) {
    if (batch_) {
        return body();  // the enclosing batch commits or rolls back
    }
    if (auto b = conn_.begin(); !b) {
        return db_failure(b.error());
    }
    admin_result<done> r = body();
    if (!r) {
        (void)conn_.rollback();  // the failure is what the admin needs to see
        return r;
    }
    if (auto c = conn_.commit(); !c) {
        return db_failure(c.error());
    }
    return r;
}

admin_result<uint64_t> admin_store::domain_id(const std::string& name, bool lock) {
    auto normalized = normalize_domain(name);
    if (!normalized) {
        return admin_failure{"invalid domain name \"" + printable(name) + "\""};
    }
    if (auto allowed = in_scope(*normalized); !allowed) {
        return allowed.failure();
    }
    auto r = conn_.query(lock ? "SELECT id FROM domains WHERE name = ? FOR UPDATE"
                              : "SELECT id FROM domains WHERE name = ?",
                         {db::param{*normalized}});
    if (!r) {
        return db_failure(r.error());
    }
    if (r->rows.empty()) {
        return admin_failure{"no such domain " + *normalized};
    }
    return r->rows.front().u64(0);
}

admin_result<admin_store::address_key> admin_store::find_address(const std::string& address,
                                                                 bool must_exist) {
    auto parts = parse_address(address);
    if (!parts) {
        return admin_failure{"invalid address \"" + printable(address) + "\""};
    }
    if (auto allowed = in_scope(parts->domain); !allowed) {
        return allowed.failure();
    }
    auto dom = domain_id(parts->domain, true);
    if (!dom) {
        auto alias = conn_.query(
            "SELECT d.name FROM domain_aliases a JOIN domains d ON"
            " d.id = a.domain_id WHERE a.name = ?",
            {db::param{parts->domain}});
        if (alias && !alias->rows.empty()) {
            return admin_failure{parts->domain + " is a domain alias: use " + parts->local + "@" +
                                 alias->rows.front().str(0)};
        }
        return admin_failure{"address outside the hosted domains: " + parts->domain +
                             " is not hosted here"};
    }
    address_key key{*dom, 0, parts->local, parts->domain};
    auto r = conn_.query("SELECT id FROM addresses WHERE domain_id = ? AND local_part = ?",
                         {db::param{*dom}, db::param{parts->local}});
    if (!r) {
        return db_failure(r.error());
    }
    if (!r->rows.empty()) {
        key.address_id = r->rows.front().u64(0);
    } else if (must_exist) {
        return admin_failure{"no such address " + parts->local + "@" + parts->domain};
    } else if (!storable_local_part(parts->local)) {
        return admin_failure{"local part \"" + printable(parts->local) +
                             "\" cannot name a Maildir (no '/', not . or ..)"};
    }
    return key;
}

admin_result<admin_store::address_key> admin_store::find_address_to_change(
    const std::string& address) {
    auto key = find_address(address, true);
    if (!key) {
        return key;
    }
    if (auto reach = address_in_reach(key->address_id); !reach) {
        return reach.failure();
    }
    return key;
}

admin_result<done> admin_store::check_limit(uint64_t id, bool mailbox) {
    auto r = conn_.query(
        mailbox ? "SELECT d.max_mailboxes, (SELECT COUNT(*) FROM addresses a WHERE"
                  " a.domain_id = d.id AND a.mailbox) FROM domains d WHERE d.id = ?"
                : "SELECT d.max_aliases, (SELECT COUNT(*) FROM addresses a WHERE"
                  " a.domain_id = d.id AND NOT a.mailbox) FROM domains d WHERE d.id = ?",
        {db::param{id}});
    if (!r) {
        return db_failure(r.error());
    }
    if (!r->rows.empty() && !r->rows.front().is_null(0) &&
        r->rows.front().u64(1) >= r->rows.front().u64(0)) {
        return admin_failure{std::string("limit reached: the domain allows at most ") +
                             r->rows.front().str(0) + (mailbox ? " mailboxes" : " aliases")};
    }
    return done{};
}

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

admin_result<done> admin_store::columns_to_set(const std::vector<column>& columns,
                                               const settings& s, bool domain,
                                               std::vector<std::string>& names,
                                               std::vector<db::param>& values) const {
    if (auto bad = bind_settings(columns, s, names, values)) {
        return admin_failure{*bad};
    }
    if (auto allowed = scoped_settings(names, values, domain); !allowed) {
        return allowed;
    }
    if (names.empty()) {
        return admin_failure{"nothing to set"};
    }
    return done{};
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

admin_result<done> admin_store::add_address(const std::string& address, const settings& s) {
    std::vector<std::string> names{"domain_id", "local_part"};
    std::vector<db::param> values{db::param{int64_t{0}}, db::param{std::string()}};
    if (auto bad = bind_settings(address_columns, s, names, values)) {
        return admin_failure{*bad};
    }
    if (auto allowed = scoped_settings(names, values, false); !allowed) {
        return allowed;
    }
    bool mailbox = false;
    for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == "mailbox") {
            mailbox = std::get<int64_t>(values[i]) == 1;
        }
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(address, false);
        if (!key) {
            return key.failure();
        }
        if (key->address_id != 0) {
            return admin_failure{"address " + key->local + "@" + key->domain + " already exists"};
        }
        if (auto limit = check_limit(key->domain_id, mailbox); !limit) {
            return limit;
        }
        if (auto quota = quotas_within_domain(key->domain_id, names, values); !quota) {
            return quota;
        }
        values[0] = db::param{key->domain_id};
        values[1] = db::param{key->local};
        return executed(conn_.query(insertion("addresses", names), values));
    });
}

admin_result<done> admin_store::remove_address(const std::string& address) {
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address_to_change(address);
        if (!key) {
            return key.failure();
        }
        // Grants name a local part, not an address row: withdraw those that named this one.
        auto grants = conn_.query("DELETE FROM send_grants WHERE domain_id = ? AND local_part = ?",
                                  {db::param{key->domain_id}, db::param{key->local}});
        if (!grants) {
            return db_failure(grants.error());
        }
        auto r = conn_.query("DELETE FROM addresses WHERE id = ?", {db::param{key->address_id}});
        return executed(r);
    });
}

admin_result<done> admin_store::set_address(const std::string& address, const settings& s) {
    std::vector<std::string> names;
    std::vector<db::param> values;
    if (auto ok = columns_to_set(address_columns, s, false, names, values); !ok) {
        return ok;
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address_to_change(address);
        if (!key) {
            return key.failure();
        }
        if (auto quota = quotas_within_domain(key->domain_id, names, values); !quota) {
            return quota;
        }
        for (size_t i = 0; i < names.size(); ++i) {
            auto* on = std::get_if<int64_t>(&values[i]);
            if (names[i] == "mailbox" && on != nullptr && *on == 1) {
                auto had = conn_.query("SELECT mailbox FROM addresses WHERE id = ?",
                                       {db::param{key->address_id}});
                if (!had) {
                    return db_failure(had.error());
                }
                if (!had->rows.front().boolean(0)) {
                    if (auto limit = check_limit(key->domain_id, true); !limit) {
                        return limit;
                    }
                }
            }
        }
        values.push_back(db::param{key->address_id});
        auto r =
            conn_.query("UPDATE addresses SET " + assignments(names) + " WHERE id = ?", values);
        return executed(r);
    });
}

admin_result<table> admin_store::list_addresses(const std::string& domain) {
    auto id = domain_id(domain, false);
    if (!id) {
        return id.failure();
    }
    auto r = conn_.query(
        "SELECT CONCAT(a.local_part, '@', d.name), IF(a.enabled, 'yes', 'no'),"
        " IF(a.mailbox, 'yes', 'no'), IF(a.password IS NULL OR a.password = '', 'no', 'yes'),"
        " COALESCE((SELECT GROUP_CONCAT(f.destination ORDER BY f.destination SEPARATOR ',')"
        " FROM forwardings f WHERE f.address_id = a.id), ''), a.full_name"
        " FROM addresses a JOIN domains d ON d.id = a.domain_id WHERE a.domain_id = ?"
        " ORDER BY a.local_part",
        {db::param{*id}});
    if (!r) {
        return db_failure(r.error());
    }
    table t{{"address", "enabled", "mailbox", "password", "forwards", "full_name"}, {}};
    for (const auto& row : r->rows) {
        std::vector<std::string> cells;
        for (size_t i = 0; i < t.columns.size(); ++i) {
            cells.push_back(row.str(i));
        }
        t.rows.push_back(std::move(cells));
    }
    return t;
}

admin_result<fields> admin_store::show_address(const std::string& address) {
    auto key = find_address(address, true);
    if (!key) {
        return key.failure();
    }
    auto r = conn_.query(
        "SELECT CONCAT(a.local_part, '@', d.name), IF(a.enabled, 'yes', 'no'),"
        " IF(a.mailbox, 'yes', 'no'),"
        " IF(a.mailbox, COALESCE(a.maildir, CONCAT(d.name, '/', a.local_part, '/')), ''),"
        " COALESCE(a.quota_bytes, ''), COALESCE(a.quota_messages, ''),"
        " IF(a.password IS NULL OR a.password = '', 'no', 'yes'), a.full_name, a.logins,"
        " COALESCE((SELECT GROUP_CONCAT(f.destination ORDER BY f.destination SEPARATOR ',')"
        " FROM forwardings f WHERE f.address_id = a.id), ''),"
        " COALESCE((SELECT GROUP_CONCAT(IF(g.local_part = '', CONCAT('@', t.name),"
        " CONCAT(g.local_part, '@', t.name)) ORDER BY t.name, g.local_part SEPARATOR ',')"
        " FROM send_grants g JOIN domains t ON t.id = g.domain_id WHERE g.address_id = a.id), ''),"
        " IF(EXISTS (SELECT 1 FROM vacations v WHERE v.address_id = a.id AND v.enabled),"
        " 'yes', 'no')"
        " FROM addresses a JOIN domains d ON d.id = a.domain_id WHERE a.id = ?",
        {db::param{key->address_id}});
    if (!r) {
        return db_failure(r.error());
    }
    return row_fields(*r,
                      {"address", "enabled", "mailbox", "maildir", "quota_bytes", "quota_messages",
                       "password", "full_name", "logins", "forwards", "may_send_as", "vacation"});
}

admin_result<done> admin_store::add_forward(const std::string& address,
                                            const std::string& destination) {
    auto dest = parse_address(destination);
    if (!dest) {
        return admin_failure{"invalid destination \"" + printable(destination) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address_to_change(address);
        if (!key) {
            return key.failure();
        }
        auto r =
            conn_.query("INSERT INTO forwardings (address_id, destination) VALUES (?, ?)",
                        {db::param{key->address_id}, db::param{dest->local + "@" + dest->domain}});
        if (!r) {
            return r.error().code == 1062
                       ? admin_failure{key->local + "@" + key->domain + " already forwards to " +
                                           dest->local + "@" + dest->domain,
                                       false, true}
                       : db_failure(r.error());
        }
        return done{};
    });
}

admin_result<done> admin_store::remove_forward(const std::string& address,
                                               const std::string& destination) {
    auto dest = parse_address(destination);
    if (!dest) {
        return admin_failure{"invalid destination \"" + printable(destination) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address_to_change(address);
        if (!key) {
            return key.failure();
        }
        auto r =
            conn_.query("DELETE FROM forwardings WHERE address_id = ? AND destination = ?",
                        {db::param{key->address_id}, db::param{dest->local + "@" + dest->domain}});
        if (!r) {
            return db_failure(r.error());
        }
        return r->affected_rows == 0
                   ? admin_result<done>(admin_failure{key->local + "@" + key->domain +
                                                      " does not forward to " + dest->local + "@" +
                                                      dest->domain})
                   : admin_result<done>(done{});
    });
}

namespace {

// "@domain" or "local@domain" -> (local or "", domain); nullopt when invalid.
std::optional<std::pair<std::string, std::string>> grant_target(const std::string& target) {
    if (target.starts_with("@")) {
        auto d = normalize_domain(target.substr(1));
        return d ? std::optional(std::pair{std::string(), *d}) : std::nullopt;
    }
    auto a = parse_address(target);
    return a ? std::optional(std::pair{a->local, a->domain}) : std::nullopt;
}

}  // namespace

admin_result<done> admin_store::add_grant(const std::string& login, const std::string& target) {
    auto t = grant_target(target);
    if (!t) {
        return admin_failure{"invalid grant target \"" + printable(target) +
                             "\" (local@domain or @domain)"};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address_to_change(login);
        if (!key) {
            return key.failure();
        }
        auto target_domain = domain_id(t->second, false);
        if (!target_domain) {
            return target_domain.failure();
        }
        auto r = conn_.query(
            "INSERT INTO send_grants (address_id, domain_id, local_part) VALUES (?, ?, ?)",
            {db::param{key->address_id}, db::param{*target_domain}, db::param{t->first}});
        if (!r) {
            return r.error().code == 1062 ? admin_failure{"already granted"}
                                          : db_failure(r.error());
        }
        return done{};
    });
}

admin_result<done> admin_store::remove_grant(const std::string& login, const std::string& target) {
    auto t = grant_target(target);
    if (!t) {
        return admin_failure{"invalid grant target \"" + printable(target) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address_to_change(login);
        if (!key) {
            return key.failure();
        }
        auto target_domain = domain_id(t->second, false);
        if (!target_domain) {
            return target_domain.failure();
        }
        auto r = conn_.query(
            "DELETE FROM send_grants WHERE address_id = ? AND domain_id = ? AND local_part = ?",
            {db::param{key->address_id}, db::param{*target_domain}, db::param{t->first}});
        if (!r) {
            return db_failure(r.error());
        }
        return r->affected_rows == 0 ? admin_result<done>(admin_failure{"no such grant"})
                                     : admin_result<done>(done{});
    });
}

admin_result<done> admin_store::set_password_hash(const std::string& address,
                                                  const std::optional<std::string>& hash) {
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address_to_change(address);
        if (!key) {
            return key.failure();
        }
        db::param value = hash ? db::param{*hash} : db::param{nullptr};
        auto r = conn_.query("UPDATE addresses SET password = ? WHERE id = ?",
                             {value, db::param{key->address_id}});
        return executed(r);
    });
}

admin_result<done> admin_store::set_vacation(const std::string& address, const settings& s) {
    std::vector<std::string> names;
    std::vector<db::param> values;
    if (auto bad = bind_settings(vacation_columns, s, names, values)) {
        return admin_failure{*bad};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address_to_change(address);
        if (!key) {
            return key.failure();
        }
        auto ins = conn_.query("INSERT IGNORE INTO vacations (address_id, body) VALUES (?, '')",
                               {db::param{key->address_id}});
        if (!ins) {
            return db_failure(ins.error());
        }
        if (names.empty()) {
            return done{};
        }
        values.push_back(db::param{key->address_id});
        auto r = conn_.query("UPDATE vacations SET " + assignments(names) + " WHERE address_id = ?",
                             values);
        if (!r) {
            return db_failure(r.error());
        }
        auto window = conn_.query(
            "SELECT 1 FROM vacations WHERE address_id = ? AND"
            " starts_at IS NOT NULL AND ends_at IS NOT NULL AND"
            " ends_at <= starts_at",
            {db::param{key->address_id}});
        if (window && !window->rows.empty()) {
            return admin_failure{"ends_at must be after starts_at"};
        }
        return done{};
    });
}

admin_result<done> admin_store::clear_vacation(const std::string& address) {
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address_to_change(address);
        if (!key) {
            return key.failure();
        }
        auto r =
            conn_.query("DELETE FROM vacations WHERE address_id = ?", {db::param{key->address_id}});
        return executed(r);
    });
}

admin_result<fields> admin_store::show_vacation(const std::string& address) {
    auto key = find_address(address, true);
    if (!key) {
        return key.failure();
    }
    auto r = conn_.query(
        "SELECT IF(enabled, 'yes', 'no'), subject, body, COALESCE(starts_at, ''),"
        " COALESCE(ends_at, ''), interval_seconds FROM vacations WHERE address_id = ?",
        {db::param{key->address_id}});
    if (!r) {
        return db_failure(r.error());
    }
    if (r->rows.empty()) {
        return admin_failure{"no vacation set for " + key->local + "@" + key->domain};
    }
    return row_fields(*r,
                      {"enabled", "subject", "body", "starts_at", "ends_at", "interval_seconds"});
}

admin_result<done> admin_store::add_domain_admin(const std::string& login,
                                                 const std::string& domain) {
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
        auto r = conn_.query("INSERT INTO domain_admins (address_id, domain_id) VALUES (?, ?)",
                             {db::param{key->address_id}, db::param{*id}});
        if (!r) {
            return r.error().code == 1062 ? admin_failure{"already an administrator of " + domain}
                                          : db_failure(r.error());
        }
        return done{};
    });
}

admin_result<done> admin_store::remove_domain_admin(const std::string& login,
                                                    const std::string& domain) {
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
        auto r = conn_.query("DELETE FROM domain_admins WHERE address_id = ? AND domain_id = ?",
                             {db::param{key->address_id}, db::param{*id}});
        if (!r) {
            return db_failure(r.error());
        }
        return r->affected_rows == 0
                   ? admin_result<done>(admin_failure{"not an administrator of " + domain})
                   : admin_result<done>(done{});
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

admin_result<bool> admin_store::ensure_address(const std::string& address) {
    bool created = false;
    auto r = in_transaction([&]() -> admin_result<done> {
        auto key = find_address(address, false);
        if (!key) {
            return key.failure();
        }
        if (key->address_id != 0) {
            return done{};
        }
        if (auto limit = check_limit(key->domain_id, false); !limit) {
            return limit;
        }
        auto ins = conn_.query("INSERT INTO addresses (domain_id, local_part) VALUES (?, ?)",
                               {db::param{key->domain_id}, db::param{key->local}});
        if (!ins) {
            return db_failure(ins.error());
        }
        created = true;
        return done{};
    });
    if (!r) {
        return r.failure();
    }
    return created;
}

}  // namespace vhostmail::vhost
