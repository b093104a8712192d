// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/snapshot_loader.hh"

#include <string>
#include <unordered_map>
#include <vector>

#include "lib/core/strings.hh"
#include "lib/vhost/record_rows.hh"

namespace vhostmail::vhost {

namespace {

// Each query exists in two forms: all rows, and the rows of one domain (filter appended).
struct query_text {
    std::string all;
    std::string one;
};

// All SQL of the loader in one place. Booleans and SETs arrive as text.
const query_text domains_sql{"SELECT " + domain_select_list() + " FROM domains",
                             "SELECT " + domain_select_list() + " FROM domains WHERE id = ?"};
const query_text aliases_sql{
    "SELECT domain_id, name FROM domain_aliases WHERE enabled",
    "SELECT domain_id, name FROM domain_aliases WHERE enabled AND domain_id = ?"};
const query_text addresses_sql{
    "SELECT domain_id, " + address_select_list() + " FROM addresses",
    "SELECT domain_id, " + address_select_list() + " FROM addresses WHERE domain_id = ?"};
const query_text forwardings_sql{
    "SELECT a.domain_id, f.address_id, f.destination FROM forwardings f"
    " JOIN addresses a ON a.id = f.address_id ORDER BY f.address_id, f.destination",
    "SELECT a.domain_id, f.address_id, f.destination FROM forwardings f"
    " JOIN addresses a ON a.id = f.address_id WHERE a.domain_id = ?"
    " ORDER BY f.address_id, f.destination"};
const query_text vacations_sql{
    "SELECT a.domain_id, v.address_id, v.enabled,"
    " TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', v.starts_at),"
    " TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', v.ends_at)"
    " FROM vacations v JOIN addresses a ON a.id = v.address_id",
    "SELECT a.domain_id, v.address_id, v.enabled,"
    " TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', v.starts_at),"
    " TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', v.ends_at)"
    " FROM vacations v JOIN addresses a ON a.id = v.address_id WHERE a.domain_id = ?"};
// Logins are listed by domain, then local part (the order sender_grants documents), in every
// load and in sql_directory, so a full and an incremental load answer alike.
const query_text grants_sql{
    "SELECT g.domain_id, g.local_part, a.local_part, d.name FROM send_grants g"
    " JOIN addresses a ON a.id = g.address_id JOIN domains d ON d.id = a.domain_id"
    " ORDER BY d.name, a.local_part",
    "SELECT g.domain_id, g.local_part, a.local_part, d.name FROM send_grants g"
    " JOIN addresses a ON a.id = g.address_id JOIN domains d ON d.id = a.domain_id"
    " WHERE g.domain_id = ? ORDER BY d.name, a.local_part"};
const query_text admins_sql{
    "SELECT da.domain_id, a.local_part, d.name FROM domain_admins da"
    " JOIN addresses a ON a.id = da.address_id JOIN domains d ON d.id = a.domain_id"
    " ORDER BY d.name, a.local_part",
    "SELECT da.domain_id, a.local_part, d.name FROM domain_admins da"
    " JOIN addresses a ON a.id = da.address_id JOIN domains d ON d.id = a.domain_id"
    " WHERE da.domain_id = ? ORDER BY d.name, a.local_part"};
const char* serial_sql = "SELECT COALESCE(SUM(serial), 0) FROM routing_serial";
const char* versions_sql = "SELECT domain_id, version FROM routing_versions";

// Domains being built, by id, with an index of their addresses by id.
struct building {
    std::unordered_map<uint64_t, std::shared_ptr<domain_data>> domains;
    std::unordered_map<uint64_t, address_record*> addresses;
};

using conn_t = db::connection;

db::outcome<db::result> run(conn_t& conn, const query_text& q, const uint64_t* only) {
    if (only == nullptr) {
        return conn.query(q.all);
    }
    return conn.query(q.one, {db::param{*only}});
}

domain_data* owner(building& b, const db::row& r) {
    auto it = b.domains.find(r.u64(0));
    return it == b.domains.end() ? nullptr : it->second.get();
}

// Reads the rows of all domains (only == null) or of one domain into `b`, whose domains must
// already hold the domain records.
db::outcome<void> read_children(conn_t& conn, building& b, const uint64_t* only) {
    auto aliases = run(conn, aliases_sql, only);
    if (!aliases) {
        return aliases.error();
    }
    for (const auto& r : aliases->rows) {
        if (auto* d = owner(b, r)) {
            d->aliases.push_back(ascii_lower(r.str(1)));
        }
    }
    auto addresses = run(conn, addresses_sql, only);
    if (!addresses) {
        return addresses.error();
    }
    for (const auto& r : addresses->rows) {
        if (auto* d = owner(b, r)) {
            auto a = address_from_row(r, 1, d->domain.name);
            auto [it, inserted] = d->addresses.emplace(a.local_part, std::move(a));
            if (inserted) {
                b.addresses[it->second.id] = &it->second;
            }
        }
    }
    auto forwards = run(conn, forwardings_sql, only);
    if (!forwards) {
        return forwards.error();
    }
    for (const auto& r : forwards->rows) {
        if (auto it = b.addresses.find(r.u64(1)); it != b.addresses.end()) {
            it->second->forwards.push_back(r.str(2));
        }
    }
    auto vacations = run(conn, vacations_sql, only);
    if (!vacations) {
        return vacations.error();
    }
    for (const auto& r : vacations->rows) {
        if (auto it = b.addresses.find(r.u64(1)); it != b.addresses.end()) {
            it->second->vacation = vacation_window{r.boolean(2), r.opt_i64(3), r.opt_i64(4)};
        }
    }
    auto grants = run(conn, grants_sql, only);
    if (!grants) {
        return grants.error();
    }
    for (const auto& r : grants->rows) {
        if (auto* d = owner(b, r)) {
            d->grants[ascii_lower(r.str(1))].push_back(ascii_lower(r.str(2)) + "@" +
                                                        ascii_lower(r.str(3)));
        }
    }
    auto admins = run(conn, admins_sql, only);
    if (!admins) {
        return admins.error();
    }
    for (const auto& r : admins->rows) {
        if (auto* d = owner(b, r)) {
            d->admins.push_back(ascii_lower(r.str(1)) + "@" + ascii_lower(r.str(2)));
        }
    }
    return {};
}

// Reads, inside the caller's transaction, the new snapshot. `previous` may be null.
db::outcome<std::shared_ptr<const snapshot>> read_snapshot(
    conn_t& conn, const std::shared_ptr<const snapshot>& previous, refresh_stats& stats) {
    auto serial = conn.query(serial_sql);
    if (!serial) {
        return serial.error();
    }
    auto versions = conn.query(versions_sql);
    if (!versions) {
        return versions.error();
    }
    std::unordered_map<uint64_t, uint64_t> version_of;
    for (const auto& r : versions->rows) {
        version_of[r.u64(0)] = r.u64(1);
    }
    auto domain_rows = conn.query(domains_sql.all);
    if (!domain_rows) {
        return domain_rows.error();
    }
    std::unordered_map<uint64_t, std::shared_ptr<const domain_data>> old_by_id;
    if (previous) {
        for (const auto& [name, data] : previous->domains) {
            old_by_id[data->domain.id] = data;
        }
    }
    building b;
    auto snap = std::make_shared<snapshot>();
    snap->serial = serial->rows.empty() ? 0 : serial->rows.front().u64(0);
    std::vector<uint64_t> changed;
    for (const auto& r : domain_rows->rows) {
        auto record = domain_from_row(r);
        uint64_t version = version_of.count(record.id) ? version_of[record.id] : 0;
        auto old = old_by_id.find(record.id);
        if (old != old_by_id.end() && old->second->version == version) {
            snap->domains[record.name] = old->second;
            continue;
        }
        auto data = std::make_shared<domain_data>();
        data->domain = std::move(record);
        data->version = version;
        changed.push_back(data->domain.id);
        b.domains[data->domain.id] = data;
    }
    stats.full = !previous || changed.size() > std::max<size_t>(32, domain_rows->rows.size() / 8);
    stats.domains_read = changed.size();
    if (stats.full) {
        auto r = read_children(conn, b, nullptr);
        if (!r) {
            return r.error();
        }
    } else {
        for (uint64_t id : changed) {
            auto r = read_children(conn, b, &id);
            if (!r) {
                return r.error();
            }
        }
    }
    for (auto& [id, data] : b.domains) {
        data->index_full_names();
        snap->domains[data->domain.name] = data;
    }
    snap->index_aliases();
    return std::shared_ptr<const snapshot>(std::move(snap));
}

}  // namespace

db::outcome<std::shared_ptr<const snapshot>> refresh_snapshot(
    db::connection& conn, const std::shared_ptr<const snapshot>& previous, refresh_stats& stats) {
    stats = {};
    if (previous) {
        auto serial = conn.query(serial_sql);
        if (!serial) {
            return serial.error();
        }
        if (!serial->rows.empty() && serial->rows.front().u64(0) == previous->serial) {
            return previous;
        }
    }
    auto begun = conn.begin(true);
    if (!begun) {
        return begun.error();
    }
    auto snap = read_snapshot(conn, previous, stats);
    if (!snap) {
        (void)conn.rollback();  // the read error is what matters
        return snap.error();
    }
    auto done = conn.commit();
    if (!done) {
        return done.error();
    }
    stats.changed = true;
    return snap;
}

}  // namespace vhostmail::vhost
