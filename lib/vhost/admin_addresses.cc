// SPDX-License-Identifier: Apache-2.0
// admin_addresses.cc - the admin store: addresses, forwardings, send grants, passwords.
#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/vhost/admin_settings.hh"
#include "lib/vhost/admin_store.hh"
#include "lib/vhost/admin_store_internal.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

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
    return forward_link(address, destination, true);
}

admin_result<done> admin_store::remove_forward(const std::string& address,
                                               const std::string& destination) {
    return forward_link(address, destination, false);
}

admin_result<done> admin_store::forward_link(const std::string& address,
                                             const std::string& destination, bool add) {
    auto dest = parse_address(destination);
    if (!dest) {
        return admin_failure{"invalid destination \"" + printable(destination) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address_to_change(address);
        if (!key) {
            return key.failure();
        }
        std::vector<db::param> row{db::param{key->address_id},
                                   db::param{dest->local + "@" + dest->domain}};
        std::string link = key->local + "@" + key->domain +
                           (add ? " already forwards to " : " does not forward to ") + dest->local +
                           "@" + dest->domain;
        return add ? link_added(conn_.query("INSERT INTO forwardings (address_id, destination)"
                                            " VALUES (?, ?)",
                                            row),
                                link)
                   : link_removed(conn_.query("DELETE FROM forwardings WHERE address_id = ? AND"
                                              " destination = ?",
                                              row),
                                  link);
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
    return grant_link(login, target, true);
}

admin_result<done> admin_store::remove_grant(const std::string& login, const std::string& target) {
    return grant_link(login, target, false);
}

admin_result<done> admin_store::grant_link(const std::string& login, const std::string& target,
                                           bool add) {
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
        std::vector<db::param> row{db::param{key->address_id}, db::param{*target_domain},
                                   db::param{t->first}};
        return add ? link_added(conn_.query("INSERT INTO send_grants (address_id, domain_id,"
                                            " local_part) VALUES (?, ?, ?)",
                                            row),
                                "already granted")
                   : link_removed(conn_.query("DELETE FROM send_grants WHERE address_id = ? AND"
                                              " domain_id = ? AND local_part = ?",
                                              row),
                                  "no such grant");
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

}  // namespace vhostmail::vhost
