// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/snapshot_loader.hh"

#include <algorithm>
#include <malloc.h>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "lib/core/strings.hh"
#include "lib/vhost/record_rows.hh"

namespace vhostmail::vhost {

namespace {

// Each query of a domain's rows reads a range of domain ids (one domain: first = last).
#define VHM_RANGE(col) " WHERE " col " BETWEEN ? AND ?"

// All SQL of the loader in one place. Booleans and SETs arrive as text.
const std::string domains_sql =
    "SELECT " + domain_select_list() + " FROM domains" VHM_RANGE("id") " ORDER BY id";
const std::string aliases_sql =
    "SELECT domain_id, name FROM domain_aliases" VHM_RANGE("domain_id") " AND enabled"
    " ORDER BY domain_id, name";
// No ORDER BY where the order does not matter or is restored here: a sort of a batch's rows
// costs the server more than the client's per-address sort of its few forwardings.
const std::string addresses_sql =
    "SELECT domain_id, " + address_select_list() + " FROM addresses" VHM_RANGE("domain_id");
const std::string forwardings_sql =
    "SELECT a.domain_id, f.address_id, f.destination FROM forwardings f"
    " JOIN addresses a ON a.id = f.address_id" VHM_RANGE("a.domain_id");
const std::string vacations_sql =
    "SELECT a.domain_id, v.address_id, v.enabled,"
    " TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', v.starts_at),"
    " TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', v.ends_at)"
    " FROM vacations v JOIN addresses a ON a.id = v.address_id" VHM_RANGE("a.domain_id");
// Logins are listed by domain, then local part (the order sender_grants documents), in every
// load and in sql_directory, so a full and an incremental load answer alike.
const std::string grants_sql =
    "SELECT g.domain_id, g.local_part, a.local_part, d.name FROM send_grants g"
    " JOIN addresses a ON a.id = g.address_id JOIN domains d ON d.id = a.domain_id" VHM_RANGE(
        "g.domain_id") " ORDER BY g.domain_id, g.local_part, d.name, a.local_part";
const std::string admins_sql =
    "SELECT da.domain_id, a.local_part, d.name FROM domain_admins da"
    " JOIN addresses a ON a.id = da.address_id JOIN domains d ON d.id = a.domain_id" VHM_RANGE(
        "da.domain_id") " ORDER BY da.domain_id, d.name, a.local_part";
#undef VHM_RANGE
const char* serials_sql = "SELECT node, serial FROM routing_serial";
const char* versions_sql = "SELECT domain_id, version FROM routing_versions";
// The domains a node changed after serial ? (sql/migrations/0008_routing_changes.sql).
const char* changes_sql =
    "SELECT domain_id, version FROM routing_versions WHERE node = ? AND node_serial > ?";
constexpr unsigned bad_field_error = 1054;  // ER_BAD_FIELD_ERROR: 0008 not applied yet
const char* domain_ids_sql = "SELECT id FROM domains ORDER BY id";

// Domains read in one batch of a full load: enough to keep the query count low, few enough
// that one batch's rows are a small part of the whole.
constexpr size_t batch_domains = 256;

using conn_t = db::connection;

db::error image_error(const std::string& what) {
    return db::make_error(2008, "HY000", "routing image: " + what);  // CR_OUT_OF_MEMORY: temporary
}

// The domains with ids in [first, last], read completely, in id order.
class batch {
public:
    batch(uint64_t first, uint64_t last) : first_(first), last_(last) {}

    db::outcome<void> read(conn_t& conn, const std::unordered_map<uint64_t, uint64_t>& versions,
                           refresh_stats& stats);

    std::vector<domain_data>& domains() { return domains_; }

private:
    db::outcome<db::result> run(conn_t& conn, const std::string& sql, refresh_stats& stats) {
        auto r = conn.query(sql, {db::param{first_}, db::param{last_}});
        if (r) {
            stats.rows_read += r->rows.size();
        }
        return r;
    }

    domain_data* owner(uint64_t domain_id) {
        auto it =
            std::lower_bound(domains_.begin(), domains_.end(), domain_id,
                             [](const domain_data& d, uint64_t id) { return d.domain.id < id; });
        return it != domains_.end() && it->domain.id == domain_id ? &*it : nullptr;
    }

    uint64_t first_;
    uint64_t last_;
    std::vector<domain_data> domains_;
};

db::outcome<void> batch::read(conn_t& conn, const std::unordered_map<uint64_t, uint64_t>& versions,
                              refresh_stats& stats) {
    auto domain_rows = run(conn, domains_sql, stats);
    if (!domain_rows) {
        return domain_rows.error();
    }
    for (const auto& r : domain_rows->rows) {
        domain_data d;
        d.domain = domain_from_row(r);
        auto v = versions.find(d.domain.id);
        d.version = v == versions.end() ? 0 : v->second;
        domains_.push_back(std::move(d));
    }
    if (domains_.empty()) {
        return {};
    }
    auto aliases = run(conn, aliases_sql, stats);
    if (!aliases) {
        return aliases.error();
    }
    for (const auto& r : aliases->rows) {
        if (auto* d = owner(r.u64(0))) {
            d->aliases.push_back(ascii_lower(r.str(1)));
        }
    }
    auto addresses = run(conn, addresses_sql, stats);
    if (!addresses) {
        return addresses.error();
    }
    for (const auto& r : addresses->rows) {
        if (auto* d = owner(r.u64(0))) {
            d->addresses.push_back(address_from_row(r, 1, d->domain.name));
        }
    }
    std::vector<db::row>().swap(addresses->rows);  // copied: free them before the next query
    std::unordered_map<uint64_t, address_record*> by_id;
    for (auto& d : domains_) {
        for (auto& a : d.addresses) {
            by_id[a.id] = &a;
        }
    }
    auto forwards = run(conn, forwardings_sql, stats);
    if (!forwards) {
        return forwards.error();
    }
    for (const auto& r : forwards->rows) {
        if (auto it = by_id.find(r.u64(1)); it != by_id.end()) {
            it->second->forwards.push_back(r.str(2));
        }
    }
    // By destination, byte order: as the column's binary collation sorts (sql_directory).
    for (auto& [id, a] : by_id) {
        if (a->forwards.size() > 1) {
            std::sort(a->forwards.begin(), a->forwards.end());
        }
    }
    std::vector<db::row>().swap(forwards->rows);
    auto vacations = run(conn, vacations_sql, stats);
    if (!vacations) {
        return vacations.error();
    }
    for (const auto& r : vacations->rows) {
        if (auto it = by_id.find(r.u64(1)); it != by_id.end()) {
            it->second->vacation = vacation_window{r.boolean(2), r.opt_i64(3), r.opt_i64(4)};
        }
    }
    auto grants = run(conn, grants_sql, stats);
    if (!grants) {
        return grants.error();
    }
    for (const auto& r : grants->rows) {
        if (auto* d = owner(r.u64(0))) {
            std::string local = ascii_lower(r.str(1));
            if (d->grants.empty() || d->grants.back().first != local) {
                d->grants.emplace_back(local, std::vector<std::string>{});
            }
            d->grants.back().second.push_back(ascii_lower(r.str(2)) + "@" + ascii_lower(r.str(3)));
        }
    }
    auto admins = run(conn, admins_sql, stats);
    if (!admins) {
        return admins.error();
    }
    for (const auto& r : admins->rows) {
        if (auto* d = owner(r.u64(0))) {
            d->admins.push_back(ascii_lower(r.str(1)) + "@" + ascii_lower(r.str(2)));
        }
    }
    return {};
}

// Encodes the batch's domains into the image.
db::outcome<void> store(image_writer& writer, batch& b) {
    for (const auto& d : b.domains()) {
        if (!writer.put(d)) {
            return image_error("domain " + d.domain.name + " is too large");
        }
    }
    return {};
}

}  // namespace

db::outcome<node_serials> read_serials(conn_t& conn) {
    auto rows = conn.query(serials_sql);
    if (!rows) {
        return rows.error();
    }
    node_serials out;
    for (const auto& r : rows->rows) {
        out[r.str(0)] = r.u64(1);
    }
    return out;
}

uint64_t serial_sum(const node_serials& serials) {
    uint64_t total = 0;
    for (const auto& [node, serial] : serials) {
        total += serial;
    }
    return total;
}

// The domains changed since `seen`, with their versions: by node serial (an index range per
// node that moved); without migration 0008, nullopt (the caller loads everything).
db::outcome<std::optional<std::unordered_map<uint64_t, uint64_t>>> snapshot_loader::changes(
    conn_t& conn, const node_serials& now) {
    std::unordered_map<uint64_t, uint64_t> changed;
    for (const auto& [node, serial] : now) {
        auto known = seen_.find(node);
        uint64_t since = known == seen_.end() ? 0 : known->second;
        if (serial == since) {
            continue;
        }
        auto rows = conn.query(changes_sql, {db::param{node}, db::param{since}});
        if (!rows) {
            if (rows.error().code == bad_field_error) {
                return std::optional<std::unordered_map<uint64_t, uint64_t>>();
            }
            return rows.error();
        }
        for (const auto& r : rows->rows) {
            changed[r.u64(0)] = r.u64(1);
        }
    }
    return std::optional(std::move(changed));
}

db::outcome<std::shared_ptr<const snapshot>> snapshot_loader::read(conn_t& conn,
                                                                   refresh_stats& stats) {
    auto serials = read_serials(conn);
    if (!serials) {
        return serials.error();
    }
    std::optional<std::unordered_map<uint64_t, uint64_t>> changed;
    if (current_) {
        auto found = changes(conn, *serials);
        if (!found) {
            return found.error();
        }
        changed = std::move(*found);
    }
    stats.full = !changed || changed->size() > std::max<size_t>(32, current_->domain_count() / 8);
    try {
        if (stats.full) {
            // Versions only for the segments' stamps; ids in batches.
            auto version_rows = conn.query(versions_sql);
            if (!version_rows) {
                return version_rows.error();
            }
            std::unordered_map<uint64_t, uint64_t> versions;
            versions.reserve(version_rows->rows.size());
            for (const auto& r : version_rows->rows) {
                versions[r.u64(0)] = r.u64(1);
            }
            std::vector<db::row>().swap(version_rows->rows);
            auto ids = conn.query(domain_ids_sql);
            if (!ids) {
                return ids.error();
            }
            writer_.start_full();
            for (size_t i = 0; i < ids->rows.size(); i += batch_domains) {
                size_t last = std::min(ids->rows.size(), i + batch_domains) - 1;
                batch b(ids->rows[i].u64(0), ids->rows[last].u64(0));
                if (auto r = b.read(conn, versions, stats); !r) {
                    return r.error();
                }
                if (auto r = store(writer_, b); !r) {
                    return r.error();
                }
                stats.domains_read += b.domains().size();
            }
        } else {
            std::vector<uint64_t> ids;
            ids.reserve(changed->size());
            for (const auto& [id, version] : *changed) {
                ids.push_back(id);
            }
            std::sort(ids.begin(), ids.end());
            for (uint64_t id : ids) {
                batch b(id, id);
                if (auto r = b.read(conn, *changed, stats); !r) {
                    return r.error();
                }
                if (b.domains().empty()) {
                    writer_.remove(id);  // deleted
                } else if (auto r = store(writer_, b); !r) {
                    return r.error();
                }
                ++stats.domains_read;
            }
        }
        auto snap = writer_.commit(serial_sum(*serials));
        pending_seen_ = std::move(*serials);
        return snap;
    } catch (const std::system_error& e) {
        return image_error(e.what());
    } catch (const std::bad_alloc&) {
        return image_error("out of memory");
    }
}

db::outcome<std::shared_ptr<const snapshot>> snapshot_loader::refresh(conn_t& conn,
                                                                      refresh_stats& stats) {
    stats = {};
    if (current_) {
        auto serials = read_serials(conn);
        if (!serials) {
            return serials.error();
        }
        if (*serials == seen_) {
            return current_;
        }
    }
    auto begun = conn.begin(true);
    if (!begun) {
        return begun.error();
    }
    auto snap = read(conn, stats);
    if (!snap) {
        (void)conn.rollback();  // the read error is what matters
        // A failed full load leaves the writer with a partial image: the next refresh starts
        // over; a failed incremental one drops what it had put.
        writer_.discard();
        if (stats.full) {
            current_.reset();
        }
        return snap.error();
    }
    auto done = conn.commit();
    if (!done) {
        return done.error();
    }
    stats.changed = true;
    current_ = *snap;
    seen_ = std::move(pending_seen_);
    if (stats.full) {
        // A full load's rows (one batch at a time) were freed; give the pages back.
        malloc_trim(0);
    }
    return current_;
}

db::outcome<std::shared_ptr<const snapshot>> load_snapshot(conn_t& conn) {
    snapshot_loader loader;
    refresh_stats stats;
    return loader.refresh(conn, stats);
}

}  // namespace vhostmail::vhost
