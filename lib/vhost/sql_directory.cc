// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/sql_directory.hh"

#include "lib/core/strings.hh"
#include "lib/vhost/image_segment.hh"
#include "lib/vhost/record_rows.hh"

namespace vhostmail::vhost {

namespace {

// All SQL of the SQL directory in one place. Booleans and SETs arrive as text.
const std::string domain_sql =
    "SELECT " + domain_select_list("d.") +
    " FROM domains d WHERE d.name = ?"
    " UNION ALL "
    "SELECT " +
    domain_select_list("d.") +
    " FROM domain_aliases a JOIN domains d ON d.id = a.domain_id WHERE a.name = ? AND a.enabled"
    " LIMIT 1";
// The address columns, then its vacation window.
const std::string address_select = "SELECT " + address_select_list("a.") +
                                   ", v.address_id IS NOT NULL, v.enabled,"
                                   " TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', v.starts_at),"
                                   " TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', v.ends_at)"
                                   " FROM addresses a LEFT JOIN vacations v ON v.address_id = a.id";
const std::string address_sql = address_select + " WHERE a.domain_id = ? AND a.local_part = ?";
const std::string full_names_sql = address_select + " WHERE a.domain_id = ? AND a.full_name <> ''";
constexpr const char* forwardings_sql =
    "SELECT destination FROM forwardings WHERE address_id = ? ORDER BY destination";
// In the order sender_grants documents: grants on the local part, on the whole domain, then
// the administrators; each by domain, then local part.
constexpr const char* grants_sql =
    "SELECT g.local_part = '', a.local_part, d.name FROM send_grants g"
    " JOIN addresses a ON a.id = g.address_id JOIN domains d ON d.id = a.domain_id"
    " WHERE g.domain_id = ? AND g.local_part IN ('', ?)"
    " UNION ALL "
    "SELECT 2, a.local_part, d.name FROM domain_admins da JOIN addresses a ON a.id = da.address_id"
    " JOIN domains d ON d.id = a.domain_id WHERE da.domain_id = ?"
    " ORDER BY 1, 3, 2";

db::outcome<db::result> query(db::pool& pool, std::string_view sql, std::vector<db::param> params) {
    return pool.run([&](db::connection& c) { return c.query(sql, params); });
}

// The address columns, then the vacation: (row exists), enabled, starts_at, ends_at.
address_record address_with_vacation(const db::row& r, const std::string& domain_name) {
    address_record a = address_from_row(r, 0, domain_name);
    if (r.boolean(address_row_columns)) {
        a.vacation = vacation_window{r.boolean(address_row_columns + 1),
                                     r.opt_i64(address_row_columns + 2),
                                     r.opt_i64(address_row_columns + 3)};
    }
    return a;
}

constexpr char damaged[] = "record cannot be encoded";  // cannot happen: we encoded it

}  // namespace

std::string_view sql_directory::keep(std::string encoded) {
    return records_.emplace_back(std::move(encoded));
}

lookup<domain_view> sql_directory::find_domain(std::string_view name) {
    using result_t = lookup<domain_view>;
    std::string key = ascii_lower(name);
    if (auto it = domain_cache_.find(key); it != domain_cache_.end()) {
        return it->second ? result_t::found(*it->second) : result_t::not_found();
    }
    auto r = query(pool_, domain_sql, {key, key});
    if (!r) {
        return result_t::temp_fail(db::describe(r.error()));
    }
    if (r->rows.empty()) {
        domain_cache_[key] = std::nullopt;
        return result_t::not_found();
    }
    std::string encoded;
    encode_domain_record(domain_from_row(r->rows.front()), encoded);
    auto view = decode_domain_record(keep(std::move(encoded)));
    if (!view) {
        return result_t::temp_fail(damaged);
    }
    domain_cache_[key] = view;
    return result_t::found(*view);
}

lookup<address_view> sql_directory::load_address(const domain_view& domain, const db::row& row) {
    using result_t = lookup<address_view>;
    std::string domain_name(domain.name);
    address_record a = address_with_vacation(row, domain_name);
    std::string key = std::to_string(domain.id) + ":" + a.local_part;
    if (auto it = address_cache_.find(key); it != address_cache_.end() && it->second) {
        return result_t::found(*it->second);
    }
    auto f = query(pool_, forwardings_sql, {a.id});
    if (!f) {
        return result_t::temp_fail(db::describe(f.error()));
    }
    for (const auto& r : f->rows) {
        a.forwards.push_back(r.str(0));
    }
    std::string encoded;
    encode_address_record(a, domain.name, encoded);
    auto view = decode_address_record(keep(std::move(encoded)), domain.name);
    if (!view) {
        return result_t::temp_fail(damaged);
    }
    address_cache_[key] = view;
    return result_t::found(*view);
}

lookup<address_view> sql_directory::find_address(const domain_view& domain,
                                                 std::string_view local_part) {
    using result_t = lookup<address_view>;
    std::string key = std::to_string(domain.id) + ":" + std::string(local_part);
    if (auto it = address_cache_.find(key); it != address_cache_.end()) {
        return it->second ? result_t::found(*it->second) : result_t::not_found();
    }
    auto r = query(pool_, address_sql, {domain.id, std::string(local_part)});
    if (!r) {
        return result_t::temp_fail(db::describe(r.error()));
    }
    if (r->rows.empty()) {
        address_cache_[key] = std::nullopt;
        return result_t::not_found();
    }
    return load_address(domain, r->rows.front());
}

lookup<address_view> sql_directory::find_full_name(const domain_view& domain,
                                                   std::string_view normalized) {
    using result_t = lookup<address_view>;
    if (normalized.empty()) {
        return result_t::not_found();  // a name of no letters or digits matches nothing
    }
    auto r = query(pool_, full_names_sql, {domain.id});
    if (!r) {
        return result_t::temp_fail(db::describe(r.error()));
    }
    const db::row* match = nullptr;
    for (const auto& row : r->rows) {
        if (normalize_full_name(row.str(6)) == normalized) {
            if (match != nullptr) {
                return result_t::not_found();  // ambiguous
            }
            match = &row;
        }
    }
    if (match == nullptr) {
        return result_t::not_found();
    }
    return load_address(domain, *match);
}

lookup<std::vector<std::string>> sql_directory::sender_grants(const domain_view& domain,
                                                              std::string_view local_part) {
    using result_t = lookup<std::vector<std::string>>;
    auto r = query(pool_, grants_sql, {domain.id, std::string(local_part), domain.id});
    if (!r) {
        return result_t::temp_fail(db::describe(r.error()));
    }
    std::vector<std::string> out;
    for (const auto& row : r->rows) {
        out.push_back(ascii_lower(row.str(1)) + "@" + ascii_lower(row.str(2)));
    }
    return result_t::found(std::move(out));
}

}  // namespace vhostmail::vhost
