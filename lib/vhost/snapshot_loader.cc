// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/snapshot_loader.hh"

#include <algorithm>
#include <future>
#include <limits>
#include <malloc.h>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include "lib/core/strings.hh"
#include "lib/os/large_allocator.hh"
#include "lib/vhost/record_rows.hh"

namespace vhostmail::vhost {

namespace {

// All SQL of the loader in one place. Booleans arrive as text, SETs as numbers.
//
// Most tables are read with one SELECT in two forms: the rows of one domain (an incremental
// refresh) and every domain's rows (the full load, which streams each table once, in
// primary-key order where it can: no sort, no secondary-index lookup per row).
struct domain_rows_sql {
    std::string one;  // the rows of the domain with id ?
    std::string all;  // every domain's
};

domain_rows_sql domain_rows(const std::string& select, std::string_view domain_column,
                            std::string_view filter, std::string_view order) {
    std::string one = select + " WHERE " + std::string(domain_column) + " = ?";
    std::string all = select;
    if (!filter.empty()) {
        one += " AND " + std::string(filter);
        all += " WHERE " + std::string(filter);
    }
    std::string order_by = " ORDER BY " + std::string(order);
    return {one + order_by, all + order_by};
}

const domain_rows_sql domains_sql =
    domain_rows("SELECT " + domain_select_list() + " FROM domains", "id", "", "id");
const domain_rows_sql aliases_sql = domain_rows("SELECT domain_id, name FROM domain_aliases",
                                                "domain_id", "enabled", "domain_id, name");
// Addresses in id order, here and in the full load (address_range_sql), so that both keep the
// same one of two local parts that fold alike.
const std::string domain_addresses_sql =
    domain_rows("SELECT domain_id, " + address_select_list() + " FROM addresses", "domain_id", "",
                "id")
        .one;
// Logins are listed by domain, then local part (the order sender_grants documents), in every
// load and in sql_directory, so a full and an incremental load answer alike.
const domain_rows_sql grants_sql = domain_rows(
    "SELECT g.domain_id, g.local_part, a.local_part, d.name FROM send_grants g"
    " JOIN addresses a ON a.id = g.address_id JOIN domains d ON d.id = a.domain_id",
    "g.domain_id", "", "g.domain_id, g.local_part, d.name, a.local_part");
const domain_rows_sql admins_sql = domain_rows(
    "SELECT da.domain_id, a.local_part, d.name FROM domain_admins da"
    " JOIN addresses a ON a.id = da.address_id JOIN domains d ON d.id = a.domain_id",
    "da.domain_id", "", "da.domain_id, d.name, a.local_part");
// Forwardings and vacations have no domain column: one domain's are found through its
// addresses, while the full load reads them alone, by address id (the merge in full_load).
// Forwardings by destination in byte order, as the column's binary collation sorts
// (sql_directory's order): one domain's are sorted by the reader.
const char* domain_forwardings_sql =
    "SELECT f.address_id, f.destination FROM forwardings f"
    " JOIN addresses a ON a.id = f.address_id WHERE a.domain_id = ?";
const char* all_forwardings_sql =
    "SELECT address_id, destination FROM forwardings ORDER BY address_id, destination";
#define VHM_VACATION_COLUMNS                                                              \
    "v.address_id, v.enabled, TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', v.starts_at)," \
    " TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', v.ends_at)"
const char* domain_vacations_sql = "SELECT " VHM_VACATION_COLUMNS
                                   " FROM vacations v JOIN addresses a ON a.id = v.address_id"
                                   " WHERE a.domain_id = ?";
const char* all_vacations_sql =
    "SELECT " VHM_VACATION_COLUMNS " FROM vacations v ORDER BY v.address_id";
#undef VHM_VACATION_COLUMNS
// The full load's addresses, in id order, between two ids: all of them, or one connection's
// share (a primary-key range, as cheap for the server as the whole scan).
const std::string address_range_sql = "SELECT domain_id, " + address_select_list() +
                                      " FROM addresses WHERE id BETWEEN ? AND ?"
                                      " ORDER BY id";
const char* address_ids_sql = "SELECT MIN(id), MAX(id) FROM addresses";
const char* serials_sql = "SELECT node, serial FROM routing_serial";
const char* versions_sql = "SELECT domain_id, version FROM routing_versions";
// The domains a node changed after serial ? (sql/migrations/0008_routing_changes.sql).
const char* changes_sql =
    "SELECT domain_id, version FROM routing_versions WHERE node = ? AND node_serial > ?";
constexpr unsigned bad_field_error = 1054;  // ER_BAD_FIELD_ERROR: 0008 not applied yet

using conn_t = db::connection;

db::error image_error(const std::string& what) {
    return db::make_error(2008, "HY000", "routing image: " + what);  // CR_OUT_OF_MEMORY: temporary
}

// Rows of grants_sql and admins_sql (domain_id first), arriving in their order.
template <typename Row>
void add_grant(domain_data* d, const Row& r) {
    if (d == nullptr) {
        return;
    }
    std::string local = ascii_lower(r.str(1));
    if (d->grants.empty() || d->grants.back().first != local) {
        d->grants.emplace_back(local, std::vector<std::string>{});
    }
    d->grants.back().second.push_back(ascii_lower(r.str(2)) + "@" + ascii_lower(r.str(3)));
}

template <typename Row>
void add_admin(domain_data* d, const Row& r) {
    if (d != nullptr) {
        d->admins.push_back(ascii_lower(r.str(1)) + "@" + ascii_lower(r.str(2)));
    }
}

// One domain, read completely (an incremental refresh).
class domain_reader {
public:
    domain_reader(uint64_t id, uint64_t version) : id_(id), version_(version) {}

    db::outcome<void> read(conn_t& conn, refresh_stats& stats);

    // The domain as read; nullopt when it no longer exists.
    const std::optional<domain_data>& domain() const { return domain_; }

private:
    db::outcome<db::result> run(conn_t& conn, std::string_view sql, refresh_stats& stats) {
        auto r = conn.query(sql, {db::param{id_}});
        if (r) {
            stats.rows_read += r->rows.size();
        }
        return r;
    }

    uint64_t id_;
    uint64_t version_;
    std::optional<domain_data> domain_;
};

db::outcome<void> domain_reader::read(conn_t& conn, refresh_stats& stats) {
    auto domain_rows = run(conn, domains_sql.one, stats);
    if (!domain_rows) {
        return domain_rows.error();
    }
    if (domain_rows->rows.empty()) {
        return {};
    }
    domain_data& d = domain_.emplace();
    d.domain = domain_from_row(domain_rows->rows.front());
    d.version = version_;
    auto aliases = run(conn, aliases_sql.one, stats);
    if (!aliases) {
        return aliases.error();
    }
    for (const auto& r : aliases->rows) {
        d.aliases.push_back(ascii_lower(r.str(1)));
    }
    auto addresses = run(conn, domain_addresses_sql, stats);
    if (!addresses) {
        return addresses.error();
    }
    for (const auto& r : addresses->rows) {
        d.addresses.push_back(address_from_row(r, 1, d.domain.name));
    }
    std::vector<db::row>().swap(addresses->rows);  // copied: free them before the next query
    std::unordered_map<uint64_t, address_record*> by_id;
    for (auto& a : d.addresses) {
        by_id[a.id] = &a;
    }
    auto forwards = run(conn, domain_forwardings_sql, stats);
    if (!forwards) {
        return forwards.error();
    }
    for (const auto& r : forwards->rows) {
        if (auto it = by_id.find(r.u64(0)); it != by_id.end()) {
            it->second->forwards.push_back(r.str(1));
        }
    }
    for (auto& a : d.addresses) {
        std::sort(a.forwards.begin(), a.forwards.end());
    }
    std::vector<db::row>().swap(forwards->rows);
    auto vacations = run(conn, domain_vacations_sql, stats);
    if (!vacations) {
        return vacations.error();
    }
    for (const auto& r : vacations->rows) {
        if (auto it = by_id.find(r.u64(0)); it != by_id.end()) {
            it->second->vacation = vacation_window{r.boolean(1), r.opt_i64(2), r.opt_i64(3)};
        }
    }
    auto grants = run(conn, grants_sql.one, stats);
    if (!grants) {
        return grants.error();
    }
    for (const auto& r : grants->rows) {
        add_grant(&d, r);
    }
    auto admins = run(conn, admins_sql.one, stats);
    if (!admins) {
        return admins.error();
    }
    for (const auto& r : admins->rows) {
        add_admin(&d, r);
    }
    return {};
}

// The full load's large buffers: huge pages where the system offers them (os::large_allocator).
template <typename T>
using large_vector = std::vector<T, os::large_allocator<T>>;
using large_string = std::basic_string<char, std::char_traits<char>, os::large_allocator<char>>;

// Every domain, each table streamed once (the all_* SQL above). The forwardings and vacations
// are read first, into compact lists by address id, so that each address row can be encoded as
// it arrives (addresses come in ascending ids: a merge); what is held until the domains are
// encoded is their encoded records, not decoded ones, appended to one buffer in the order
// they arrive (ids are not grouped by domain: one buffer per domain would cost a cache miss
// and, as it grows, a reallocation per row), then grouped by domain when encoding.
//
// Given a second connection (in a snapshot of the same data: snapshot_loader checks), the
// tables are read on both at once: the domains on one while the forwardings and vacations
// arrive on the other, then each connection reads half of the addresses' id range. The
// server's side of the address scan is the longest part of a large load and runs on one
// server thread per connection; two keep both cores of a small host busy.
class full_load {
public:
    full_load() {
        // The load's buffers grow to tens of MB. Freeing such a buffer makes glibc raise its
        // mmap threshold (up to 32 MiB) and its trim threshold (to twice that) for good, and
        // then keep that much freed memory at the top of this thread's arena, which
        // malloc_trim does not return for any arena but the main one. A fixed threshold keeps
        // large buffers in their own mappings, returned when freed.
        static const bool fixed = mallopt(M_MMAP_THRESHOLD, 1 << 20) == 1;
        (void)fixed;
    }

    // `second`: another connection to read on at the same time, or null.
    db::outcome<void> read(conn_t& conn, conn_t* second, refresh_stats& stats);
    db::outcome<void> store(image_writer& writer);

    size_t domain_count() const { return domains_.size(); }

    // The read failed on the second connection (the first is in order).
    bool second_failed() const { return second_failed_; }

private:
    // Encoded address records in arrival order, in blocks that are filled, never moved (a
    // record longer than a block gets one of its own).
    struct record_ref {
        uint32_t block;
        uint32_t offset;
        uint32_t size;
        uint32_t domain;  // index in domains_
    };

    // The addresses one connection reads (ascending ids), each encoded as it arrives.
    struct address_stream {
        uint64_t last_id = 0;
        size_t next_forward = 0;  // merge positions in forward_ids_ and vacations_
        size_t next_vacation = 0;
        address_record address;                  // the row being encoded
        std::vector<std::string_view> forwards;  // its forwardings, in forward_bytes_
        std::string record;                      // its record
        std::vector<large_string> blocks;
        large_vector<record_ref> records;
    };

    // The index in domains_ of the domain with `id`, or no_domain.
    uint32_t domain_index(uint64_t id) const {
        if (!dense_.empty()) {
            return id < dense_.size() ? dense_[id] : no_domain;
        }
        auto it =
            std::lower_bound(domains_.begin(), domains_.end(), id,
                             [](const domain_data& d, uint64_t v) { return d.domain.id < v; });
        return it != domains_.end() && it->domain.id == id
                   ? static_cast<uint32_t>(it - domains_.begin())
                   : no_domain;
    }

    domain_data* domain(uint64_t id) {
        uint32_t i = domain_index(id);
        return i == no_domain ? nullptr : &domains_[i];
    }

    // Each returns the rows it read. The first two touch disjoint members (run at once).
    db::outcome<uint64_t> read_domains(conn_t& conn);
    db::outcome<uint64_t> read_forwardings(conn_t& conn);
    db::outcome<uint64_t> read_addresses(conn_t& conn, address_stream& s, uint64_t first_id,
                                         uint64_t last_id);
    db::outcome<uint64_t> read_logins(conn_t& conn);

    void index_domains();
    void add_address(address_stream& s, const db::row_view& row);
    // Sorts the records by domain (stable: each domain's stay in id order).
    void group_records();

    // Segments one after the other; segment i ends at ends[i] ("" when a domain makes none).
    struct encoded_chunk {
        std::string bytes;
        std::vector<size_t> ends;
    };

    // The segments of domains_[first, last), into `out` (its buffers reused).
    void encode(size_t first, size_t last, encoded_chunk& out) const;

    static constexpr uint32_t no_domain = std::numeric_limits<uint32_t>::max();
    static constexpr size_t record_block_size = (size_t{4} << 20) - 64;  // 4 MiB with the '\0'

    large_vector<domain_data> domains_;  // ascending ids
    std::vector<uint32_t> dense_;        // domain id -> index in domains_, when ids are dense
    // Forwardings in (address id, destination) order: ids, end of each destination in bytes.
    large_vector<uint64_t> forward_ids_;
    large_vector<size_t> forward_ends_;
    large_string forward_bytes_;
    large_vector<std::pair<uint64_t, vacation_window>> vacations_;  // ascending address ids
    std::vector<address_stream> streams_;  // in id order: the first holds the lowest ids
    // After group_records: the records by domain; those of domains_[i] are
    // grouped_[group_first_[i]] .. grouped_[group_first_[i + 1] - 1].
    large_vector<std::string_view> grouped_;
    std::vector<uint32_t> group_first_;
    bool second_failed_ = false;
};

// Runs `here` on this thread and `there` on one of its own, at the same time (one after the
// other when no thread can be had); the rows both read, or the first error. `there_failed`:
// the error is `there`'s.
template <typename Here, typename There>
db::outcome<uint64_t> at_once(Here here, There there, bool& there_failed) {
    std::future<db::outcome<uint64_t>> other;
    try {
        other = std::async(std::launch::async, there);
    } catch (const std::system_error&) {  // no thread: in turn, below
    }
    db::outcome<uint64_t> mine = here();  // on an exception, ~future waits for the thread
    if (!mine && !other.valid()) {
        return mine;
    }
    db::outcome<uint64_t> theirs = other.valid() ? other.get() : there();
    if (!mine) {
        return mine;
    }
    if (!theirs) {
        there_failed = true;
        return theirs;
    }
    return *mine + *theirs;
}

void full_load::index_domains() {
    // Ids are an AUTO_INCREMENT: a table of them costs little unless most were deleted.
    uint64_t max_id = domains_.empty() ? 0 : domains_.back().domain.id;
    if (max_id / 4 > domains_.size() + 1024 || domains_.size() >= no_domain) {
        return;
    }
    dense_.assign(max_id + 1, no_domain);
    for (size_t i = 0; i < domains_.size(); ++i) {
        dense_[domains_[i].domain.id] = static_cast<uint32_t>(i);
    }
}

void full_load::add_address(address_stream& s, const db::row_view& row) {
    uint32_t domain = domain_index(row.u64(0));
    uint64_t id = row.u64(1);
    if (domain == no_domain || id <= s.last_id || s.records.size() >= no_domain / 2) {
        return;  // neither happens (foreign key, ORDER BY id); the merges below need both
    }
    s.last_id = id;
    address_from_row(row, 1, s.address);
    s.forwards.clear();
    while (s.next_forward < forward_ids_.size() && forward_ids_[s.next_forward] < id) {
        ++s.next_forward;
    }
    for (; s.next_forward < forward_ids_.size() && forward_ids_[s.next_forward] == id;
         ++s.next_forward) {
        size_t begin = s.next_forward == 0 ? 0 : forward_ends_[s.next_forward - 1];
        s.forwards.push_back(
            std::string_view(forward_bytes_).substr(begin, forward_ends_[s.next_forward] - begin));
    }
    while (s.next_vacation < vacations_.size() && vacations_[s.next_vacation].first < id) {
        ++s.next_vacation;
    }
    if (s.next_vacation < vacations_.size() && vacations_[s.next_vacation].first == id) {
        s.address.vacation = vacations_[s.next_vacation].second;
    }
    // The domain's name only matters for a stored Maildir: most rows need not touch it.
    std::string_view name =
        s.address.maildir.empty() ? std::string_view() : domains_[domain].domain.name;
    s.record.clear();
    encode_address_record(s.address, name, s.forwards, s.record);
    if (s.blocks.empty() || s.blocks.back().size() + s.record.size() > s.blocks.back().capacity()) {
        s.blocks.emplace_back().reserve(std::max(record_block_size, s.record.size()));
    }
    large_string& block = s.blocks.back();
    s.records.push_back({static_cast<uint32_t>(s.blocks.size() - 1),
                         static_cast<uint32_t>(block.size()),
                         static_cast<uint32_t>(s.record.size()), domain});
    block += s.record;
}

// The rows of `first` and of `then()` after it, or the first error (`then` is not run).
template <typename Then>
db::outcome<uint64_t> and_then(const db::outcome<uint64_t>& first, Then then) {
    if (!first) {
        return first;
    }
    db::outcome<uint64_t> more = then();
    if (!more) {
        return more;
    }
    return *first + *more;
}

db::outcome<uint64_t> full_load::read_domains(conn_t& conn) {
    std::unordered_map<uint64_t, uint64_t> versions;
    auto rows = conn.query_each(
        versions_sql, {}, [&](const db::row_view& row) { versions[row.u64(0)] = row.u64(1); });
    rows = and_then(rows, [&] {
        domains_.reserve(versions.size());  // a row per domain (0007): saves the regrowth
        auto n = conn.query_each(domains_sql.all, {}, [&](const db::row_view& row) {
            domain_data d;
            d.domain = domain_from_row(row);
            auto v = versions.find(d.domain.id);
            d.version = v == versions.end() ? 0 : v->second;
            domains_.push_back(std::move(d));
        });
        index_domains();
        return n;
    });
    return and_then(rows, [&] {
        return conn.query_each(aliases_sql.all, {}, [&](const db::row_view& row) {
            if (auto* d = domain(row.u64(0))) {
                d->aliases.push_back(ascii_lower(row.str(1)));
            }
        });
    });
}

db::outcome<uint64_t> full_load::read_forwardings(conn_t& conn) {
    auto rows = conn.query_each(all_forwardings_sql, {}, [&](const db::row_view& row) {
        forward_ids_.push_back(row.u64(0));
        forward_bytes_ += row.at(1).value_or("");
        forward_ends_.push_back(forward_bytes_.size());
    });
    return and_then(rows, [&] {
        return conn.query_each(all_vacations_sql, {}, [&](const db::row_view& row) {
            vacations_.emplace_back(
                row.u64(0), vacation_window{row.boolean(1), row.opt_i64(2), row.opt_i64(3)});
        });
    });
}

db::outcome<uint64_t> full_load::read_addresses(conn_t& conn, address_stream& s, uint64_t first_id,
                                                uint64_t last_id) {
    s.next_forward =
        static_cast<size_t>(std::lower_bound(forward_ids_.begin(), forward_ids_.end(), first_id) -
                            forward_ids_.begin());
    s.next_vacation = static_cast<size_t>(
        std::lower_bound(vacations_.begin(), vacations_.end(), first_id,
                         [](const auto& v, uint64_t id) { return v.first < id; }) -
        vacations_.begin());
    return conn.query_each(address_range_sql, {db::param{first_id}, db::param{last_id}},
                           [&](const db::row_view& row) { add_address(s, row); });
}

db::outcome<uint64_t> full_load::read_logins(conn_t& conn) {
    auto rows = conn.query_each(
        grants_sql.all, {}, [&](const db::row_view& row) { add_grant(domain(row.u64(0)), row); });
    return and_then(rows, [&] {
        return conn.query_each(admins_sql.all, {}, [&](const db::row_view& row) {
            add_admin(domain(row.u64(0)), row);
        });
    });
}

db::outcome<void> full_load::read(conn_t& conn, conn_t* second, refresh_stats& stats) {
    uint64_t rows = 0;
    auto counted = [&rows](const db::outcome<uint64_t>& r) -> db::outcome<void> {
        if (!r) {
            return r.error();
        }
        rows += *r;
        return {};
    };
    auto domains = [&] { return read_domains(conn); };
    if (second != nullptr) {
        auto forwardings = [&] { return read_forwardings(*second); };
        if (auto r = counted(at_once(domains, forwardings, second_failed_)); !r) {
            return r;
        }
    } else if (auto r = counted(and_then(domains(), [&] { return read_forwardings(conn); })); !r) {
        return r;
    }
    constexpr uint64_t any_id = std::numeric_limits<uint64_t>::max();
    uint64_t middle = any_id;  // the last id the first connection reads
    if (second != nullptr) {
        auto ids = conn.query(address_ids_sql);
        if (!ids) {
            return ids.error();
        }
        const db::row* r = ids->rows.empty() ? nullptr : &ids->rows.front();
        if (r != nullptr && !r->is_null(0) && r->u64(0) < r->u64(1)) {
            middle = r->u64(0) + (r->u64(1) - r->u64(0)) / 2;
        }
    }
    if (middle != any_id) {
        streams_.resize(2);
        auto low = [&] { return read_addresses(conn, streams_[0], 0, middle); };
        auto high = [&] { return read_addresses(*second, streams_[1], middle + 1, any_id); };
        if (auto r = counted(at_once(low, high, second_failed_)); !r) {
            return r;
        }
    } else {
        streams_.resize(1);
        if (auto r = counted(read_addresses(conn, streams_[0], 0, any_id)); !r) {
            return r;
        }
    }
    if (auto r = counted(read_logins(conn)); !r) {
        return r;
    }
    stats.rows_read += rows;
    return {};
}

void full_load::group_records() {
    group_first_.assign(domains_.size() + 1, 0);
    size_t total = 0;
    for (const auto& s : streams_) {
        for (const auto& r : s.records) {
            ++group_first_[r.domain + 1];
        }
        total += s.records.size();
    }
    for (size_t i = 1; i < group_first_.size(); ++i) {
        group_first_[i] += group_first_[i - 1];
    }
    grouped_.resize(total);
    std::vector<uint32_t> next(group_first_.begin(), group_first_.end() - 1);
    for (auto& s : streams_) {  // in id order, so each domain's records stay in id order
        for (const auto& r : s.records) {
            grouped_[next[r.domain]++] =
                std::string_view(s.blocks[r.block]).substr(r.offset, r.size);
        }
        decltype(s.records)().swap(s.records);
    }
}

void full_load::encode(size_t first, size_t last, encoded_chunk& out) const {
    out.bytes.clear();
    out.ends.clear();
    auto records_of = [this](size_t i) {
        return std::span(grouped_).subspan(group_first_[i], group_first_[i + 1] - group_first_[i]);
    };
    for (size_t i = first; i < last; ++i) {
        // A domain's records lie wherever their rows arrived: ask for the next domain's while
        // this one is encoded, instead of waiting for each in turn.
        if (i + 1 < last) {
            for (std::string_view r : records_of(i + 1)) {
                __builtin_prefetch(r.data());
            }
        }
        out.bytes += encode_domain(domains_[i], records_of(i));  // "": no segment
        out.ends.push_back(out.bytes.size());
    }
}

db::outcome<void> full_load::store(image_writer& writer) {
    decltype(forward_ids_)().swap(forward_ids_);
    decltype(forward_ends_)().swap(forward_ends_);
    decltype(forward_bytes_)().swap(forward_bytes_);
    group_records();
    // Encoding is pure and a sixth of a full load: a second thread encodes every other chunk
    // of domains while this one encodes the chunk before it; this one adds both in id order.
    // Each thread's chunks go to one buffer, kept from chunk to chunk: a string per segment,
    // all freed after each chunk, had malloc return the pages and fault them in again.
    constexpr size_t chunk = 1024;
    encoded_chunk mine;
    encoded_chunk theirs;
    auto add = [&](size_t first, const encoded_chunk& segments) -> db::outcome<void> {
        size_t begin = 0;
        for (size_t i = 0; i < segments.ends.size(); ++i) {
            const domain_record& d = domains_[first + i].domain;
            std::string_view segment(segments.bytes.data() + begin, segments.ends[i] - begin);
            if (!writer.put(d.id, segment)) {
                return image_error("domain " + d.name + " is too large");
            }
            begin = segments.ends[i];
        }
        return {};
    };
    for (size_t first = 0; first < domains_.size(); first += 2 * chunk) {
        size_t middle = std::min(domains_.size(), first + chunk);
        size_t last = std::min(domains_.size(), middle + chunk);
        auto second =
            std::async(std::launch::async, [&, middle, last] { encode(middle, last, theirs); });
        encode(first, middle, mine);
        auto added = add(first, mine);
        second.get();  // waits for the thread even when `added` failed
        if (!added) {
            return added;
        }
        if (auto r = add(middle, theirs); !r) {
            return r;
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

db::outcome<domain_changes> change_finder::since_seen(conn_t& conn, const node_serials& now,
                                                      size_t limit) const {
    domain_changes out;
    if (!seen_) {
        out.all = true;
        return out;
    }
    std::unordered_map<uint64_t, uint64_t> changed;
    for (const auto& [node, serial] : now) {
        auto known = seen_->find(node);
        uint64_t since = known == seen_->end() ? 0 : known->second;
        if (serial == since) {
            continue;
        }
        auto rows = conn.query(changes_sql, {db::param{node}, db::param{since}});
        if (!rows) {
            if (rows.error().code == bad_field_error) {
                out.all = true;
                return out;
            }
            return rows.error();
        }
        for (const auto& r : rows->rows) {
            changed[r.u64(0)] = r.u64(1);
        }
    }
    if (changed.size() > limit) {
        out.all = true;
        return out;
    }
    out.domains.assign(changed.begin(), changed.end());
    std::sort(out.domains.begin(), out.domains.end());
    return out;
}

db::outcome<void> follow_changes(conn_t& conn, change_finder& finder, size_t limit,
                                 const apply_changes_fn& apply) {
    auto serials = read_serials(conn);
    if (!serials) {
        return serials.error();
    }
    if (finder.unchanged(*serials)) {
        return {};
    }
    if (auto begun = conn.begin(true); !begun) {
        return begun.error();
    }
    auto changes = finder.since_seen(conn, *serials, limit);
    db::outcome<void> applied =
        changes ? apply(conn, *changes) : db::outcome<void>(changes.error());
    if (!applied) {
        (void)conn.rollback();  // the error that matters is the one above
        return applied;
    }
    if (auto done = conn.commit(); !done) {
        return done.error();
    }
    finder.accept(std::move(*serials));
    return {};
}

db::outcome<void> apply_domain_changes(const domain_changes& changes, domain_entry_map& kept,
                                       const std::function<void(const domain_entries&)>& remove,
                                       const read_domain_rows_fn& read) {
    domain_entry_map added;
    if (changes.all) {
        if (auto r = read(std::nullopt, added); !r) {
            return r;
        }
        kept = std::move(added);
        return {};
    }
    for (const auto& [id, version] : changes.domains) {
        if (auto old = kept.find(id); old != kept.end()) {
            remove(old->second);
        }
        if (auto r = read(id, added); !r) {
            return r;
        }
    }
    for (const auto& [id, version] : changes.domains) {
        if (auto e = added.find(id); e != added.end()) {
            kept[id] = std::move(e->second);
        } else {
            kept.erase(id);
        }
    }
    return {};
}

db::outcome<std::shared_ptr<const snapshot>> snapshot_loader::read(conn_t& conn,
                                                                   refresh_stats& stats) {
    auto serials = read_serials(conn);
    if (!serials) {
        return serials.error();
    }
    size_t limit = current_ ? std::max<size_t>(32, current_->domain_count() / 8) : 0;
    auto changed = changes_.since_seen(conn, *serials, limit);
    if (!changed) {
        return changed.error();
    }
    stats.full = changed->all;
    try {
        if (stats.full) {
            std::unique_ptr<conn_t> second = second_connection(conn, *serials, stats);
            std::optional<full_load> all(std::in_place);
            auto r = all->read(conn, second.get(), stats);
            if (!r && all->second_failed()) {
                // The first connection's snapshot is sound: read it all there.
                stats.one_connection_why =
                    "the second connection failed: " + db::describe(r.error());
                second.reset();
                all.emplace();
                r = all->read(conn, nullptr, stats);
            }
            stats.connections = second ? 2 : 1;
            second.reset();  // read only: closing it ends its transaction
            if (!r) {
                return r.error();
            }
            writer_.start_full();
            if (auto stored = all->store(writer_); !stored) {
                return stored.error();
            }
            stats.domains_read = all->domain_count();
        } else {
            stats.connections = 1;
            for (const auto& [id, version] : changed->domains) {
                domain_reader one(id, version);
                if (auto r = one.read(conn, stats); !r) {
                    return r.error();
                }
                if (!one.domain()) {
                    writer_.remove(id);  // deleted
                } else if (!writer_.put(*one.domain())) {
                    return image_error("domain " + one.domain()->domain.name + " is too large");
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

std::unique_ptr<conn_t> snapshot_loader::second_connection(const conn_t& first,
                                                           const node_serials& serials,
                                                           refresh_stats& stats) const {
    if (!open_second_) {
        return nullptr;
    }
    auto opened = open_second_(first);
    if (!opened) {
        stats.one_connection_why = "no second connection: " + db::describe(opened.error());
        return nullptr;
    }
    std::unique_ptr<conn_t> second = std::move(*opened);
    if (auto begun = second->begin(true); !begun) {
        stats.one_connection_why = "no second connection: " + db::describe(begun.error());
        return nullptr;
    }
    // Every routing change moves a serial in its own transaction (the triggers): the same
    // serials in both snapshots mean the same routing data.
    auto seen = read_serials(*second);
    if (!seen) {
        stats.one_connection_why = "no second connection: " + db::describe(seen.error());
        return nullptr;
    }
    if (*seen != serials) {
        stats.one_connection_why = "the data changed between the two connections' snapshots";
        return nullptr;
    }
    return second;
}

db::outcome<std::shared_ptr<const snapshot>> snapshot_loader::refresh(conn_t& conn,
                                                                      refresh_stats& stats) {
    stats = {};
    if (current_) {
        auto serials = read_serials(conn);
        if (!serials) {
            return serials.error();
        }
        if (changes_.unchanged(*serials)) {
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
            changes_.reset();
        }
        return snap.error();
    }
    auto done = conn.commit();
    if (!done) {
        return done.error();
    }
    stats.changed = true;
    current_ = *snap;
    changes_.accept(std::move(pending_seen_));
    if (stats.full) {
        // A full load's temporary buffers were freed; give the pages back.
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
