// SPDX-License-Identifier: Apache-2.0
// admin_vacations.cc - the admin store: auto-replies.
#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/vhost/admin_settings.hh"
#include "lib/vhost/admin_store.hh"
#include "lib/vhost/admin_store_internal.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

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

}  // namespace vhostmail::vhost
