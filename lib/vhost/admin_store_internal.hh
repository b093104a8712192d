// SPDX-License-Identifier: Apache-2.0
// admin_store_internal.hh - what the admin store's files (admin_store.cc and one file per
// entity: admin_domains.cc, admin_addresses.cc, admin_vacations.cc, admin_domain_admins.cc)
// share. Not for other users of the store.
#pragma once

#include <string>
#include <vector>

#include "lib/db/connection.hh"
#include "lib/vhost/admin_store.hh"

namespace vhostmail::vhost {

// The first row of r as (name, value) pairs; empty when there is no row.
fields row_fields(const db::result& r, const std::vector<std::string>& names);

// The result of a change that returns nothing but may fail.
admin_result<done> executed(const db::outcome<db::result>& r);

// The result of adding a row that links two things: a duplicate is failure `already`, marked as
// what is the case already (imports skip it).
admin_result<done> link_added(const db::outcome<db::result>& r, const std::string& already);

// The result of removing such a row: no row removed is failure `missing`.
admin_result<done> link_removed(const db::outcome<db::result>& r, const std::string& missing);

// "INSERT INTO table (a, b) VALUES (?, ?)" over fixed column names (never user input).
std::string insertion(const std::string& table, const std::vector<std::string>& names);

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

}  // namespace vhostmail::vhost
