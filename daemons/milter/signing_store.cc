// SPDX-License-Identifier: Apache-2.0
#include "daemons/milter/signing_store.hh"

#include <sys/stat.h>

#include "lib/core/strings.hh"
#include "lib/log/log.hh"

namespace vhostmail::milter {

namespace {

// Each query whole, and (with " AND ... = ?") for one domain.
#define VHM_KEYS                                                                       \
    "SELECT k.domain_id, d.name, k.selector, k.algorithm, k.key_file FROM dkim_keys k" \
    " JOIN domains d ON d.id = k.domain_id WHERE k.state = 'active' AND d.enabled"
#define VHM_KEYS_ORDER " ORDER BY d.name, k.algorithm, k.selector"
constexpr std::string_view active_keys_sql = VHM_KEYS VHM_KEYS_ORDER;
constexpr std::string_view domain_keys_sql = VHM_KEYS " AND k.domain_id = ?" VHM_KEYS_ORDER;
#undef VHM_KEYS
#undef VHM_KEYS_ORDER

#define VHM_DOMAINS "SELECT id, name FROM domains WHERE from_any_in_domain"
constexpr std::string_view from_any_domains_sql = VHM_DOMAINS;
constexpr std::string_view domain_from_any_sql = VHM_DOMAINS " AND id = ?";
#undef VHM_DOMAINS

#define VHM_ADDRESSES                                                                 \
    "SELECT a.domain_id, a.local_part, d.name, a.from_any_in_domain FROM addresses a" \
    " JOIN domains d ON d.id = a.domain_id WHERE a.from_any_in_domain IS NOT NULL"
constexpr std::string_view from_any_addresses_sql = VHM_ADDRESSES;
constexpr std::string_view domain_from_any_addresses_sql = VHM_ADDRESSES " AND a.domain_id = ?";
#undef VHM_ADDRESSES

// Beyond this many changed domains one read of each table costs less than queries per domain.
constexpr size_t max_domain_reads = 256;

}  // namespace

domain_key signing_store::read_key(std::string selector, dkim::algorithm alg, std::string file) {
    domain_key k{std::move(selector), alg, file, nullptr, ""};

    struct stat st {};

    if (::stat(file.c_str(), &st) != 0) {
        k.error = file + ": cannot be read";
        cache_.erase(file);
        return k;
    }
    auto it = cache_.find(file);
    if (it == cache_.end() || it->second.dev != st.st_dev || it->second.ino != st.st_ino ||
        it->second.ctime != st.st_ctime || it->second.size != st.st_size || it->second.alg != alg) {
        cached_key c{st.st_dev,  st.st_ino, st.st_ctime,
                     st.st_size, alg,       dkim::load_private_key(file, alg)};
        if (!c.loaded.key) {
            log::error("DKIM key {} unusable: {}; mail to be signed with it is deferred", file,
                       c.loaded.error);
        }
        it = cache_.insert_or_assign(file, std::move(c)).first;
    }
    k.key = it->second.loaded.key;
    k.error = it->second.loaded.error;
    return k;
}

db::outcome<std::shared_ptr<const signing_data>> signing_store::load(db::connection& conn) {
    auto followed =
        vhost::follow_changes(conn, changes_, max_domain_reads,
                              [this](db::connection& c, const vhost::domain_changes& changes) {
                                  return apply(c, changes);
                              });
    if (!followed) {
        return followed.error();
    }
    return current_;
}

db::outcome<void> signing_store::read(db::connection& conn, std::string_view keys_sql,
                                      std::string_view domains_sql, std::string_view addresses_sql,
                                      const std::vector<db::param>& params, signing_data& data,
                                      vhost::domain_entry_map& entries) {
    auto keys = conn.query(keys_sql, params);
    if (!keys) {
        return keys.error();
    }
    for (const auto& row : keys->rows) {
        auto alg = dkim::parse_algorithm(row.str(3));
        if (!alg) {
            continue;  // the column is an ENUM of the two names
        }
        std::string domain = ascii_lower(row.str(1));
        entries[row.u64(0)].domain = domain;
        data.keys[domain].push_back(read_key(ascii_lower(row.str(2)), *alg, row.str(4)));
    }
    auto domains = conn.query(domains_sql, params);
    if (!domains) {
        return domains.error();
    }
    for (const auto& row : domains->rows) {
        std::string domain = ascii_lower(row.str(1));
        entries[row.u64(0)].domain = domain;
        data.from_any_domains.insert(domain);
    }
    auto addresses = conn.query(addresses_sql, params);
    if (!addresses) {
        return addresses.error();
    }
    for (const auto& row : addresses->rows) {
        std::string domain = ascii_lower(row.str(2));
        std::string address = row.str(1) + "@" + domain;
        auto& e = entries[row.u64(0)];
        e.domain = domain;
        e.addresses.push_back(address);
        data.from_any_addresses[address] = row.i64(3) != 0;
    }
    return {};
}

db::outcome<void> signing_store::apply(db::connection& conn, const vhost::domain_changes& changes) {
    // Built aside, installed at the end: a failed read changes nothing that is kept.
    auto data = std::make_shared<signing_data>();
    if (!changes.all && current_) {
        *data = *current_;
    }
    auto applied = vhost::apply_domain_changes(
        changes, entries_,
        [&](const vhost::domain_entries& old) {
            data->keys.erase(old.domain);
            data->from_any_domains.erase(old.domain);
            for (const auto& a : old.addresses) {
                data->from_any_addresses.erase(a);
            }
        },
        [&](std::optional<uint64_t> id, vhost::domain_entry_map& added) {
            return id ? read(conn, domain_keys_sql, domain_from_any_sql,
                             domain_from_any_addresses_sql, {db::param{*id}}, *data, added)
                      : read(conn, active_keys_sql, from_any_domains_sql, from_any_addresses_sql,
                             {}, *data, added);
        });
    if (!applied) {
        return applied;
    }
    // Key files no active key names any more are forgotten.
    std::set<std::string> files;
    for (const auto& [domain, keys] : data->keys) {
        for (const auto& k : keys) {
            files.insert(k.file);
        }
    }
    std::erase_if(cache_, [&](const auto& entry) { return !files.contains(entry.first); });
    current_ = std::move(data);
    return {};
}

}  // namespace vhostmail::milter
