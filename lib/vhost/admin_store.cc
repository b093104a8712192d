// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/admin_store.hh"

#include <cstdlib>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/vhost/admin_settings.hh"
#include "lib/vhost/admin_store_internal.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

fields row_fields(const db::result& r, const std::vector<std::string>& names) {
    fields out;
    if (!r.rows.empty()) {
        for (size_t i = 0; i < names.size(); ++i) {
            out.emplace_back(names[i], r.rows.front().str(i));
        }
    }
    return out;
}

admin_result<done> executed(const db::outcome<db::result>& r) {
    return r ? admin_result<done>(done{}) : admin_result<done>(db_failure(r.error()));
}

admin_result<done> link_added(const db::outcome<db::result>& r, const std::string& already) {
    if (!r) {
        return r.error().code == 1062 ? admin_failure{already, false, true} : db_failure(r.error());
    }
    return done{};
}

admin_result<done> link_removed(const db::outcome<db::result>& r, const std::string& missing) {
    if (!r) {
        return db_failure(r.error());
    }
    return r->affected_rows == 0 ? admin_result<done>(admin_failure{missing})
                                 : admin_result<done>(done{});
}

std::string insertion(const std::string& table, const std::vector<std::string>& names) {
    std::string cols, marks;
    for (size_t i = 0; i < names.size(); ++i) {
        cols += (i == 0 ? "" : ", ") + names[i];
        marks += i == 0 ? "?" : ", ?";
    }
    return "INSERT INTO " + table + " (" + cols + ") VALUES (" + marks + ")";
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
