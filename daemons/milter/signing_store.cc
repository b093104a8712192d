// SPDX-License-Identifier: Apache-2.0
#include "daemons/milter/signing_store.hh"

#include <sys/stat.h>

#include "lib/core/strings.hh"
#include "lib/log/log.hh"

namespace vhostmail::milter {

namespace {

constexpr std::string_view active_keys_sql =
    "SELECT d.name, k.selector, k.algorithm, k.key_file FROM dkim_keys k"
    " JOIN domains d ON d.id = k.domain_id WHERE k.state = 'active' AND d.enabled"
    " ORDER BY d.name, k.algorithm";

constexpr std::string_view from_any_domains_sql =
    "SELECT name FROM domains WHERE from_any_in_domain";

constexpr std::string_view from_any_addresses_sql =
    "SELECT a.local_part, d.name, a.from_any_in_domain FROM addresses a"
    " JOIN domains d ON d.id = a.domain_id WHERE a.from_any_in_domain IS NOT NULL";

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
    auto data = std::make_shared<signing_data>();
    auto keys = conn.query(active_keys_sql);
    if (!keys) {
        return keys.error();
    }
    std::set<std::string> files;
    for (const auto& row : keys->rows) {
        auto alg = dkim::parse_algorithm(row.str(2));
        if (!alg) {
            continue;  // the column is an ENUM of the two names
        }
        files.insert(row.str(3));
        data->keys[ascii_lower(row.str(0))].push_back(
            read_key(ascii_lower(row.str(1)), *alg, row.str(3)));
    }
    std::erase_if(cache_, [&](const auto& entry) { return !files.contains(entry.first); });
    auto domains = conn.query(from_any_domains_sql);
    if (!domains) {
        return domains.error();
    }
    for (const auto& row : domains->rows) {
        data->from_any_domains.insert(ascii_lower(row.str(0)));
    }
    auto addresses = conn.query(from_any_addresses_sql);
    if (!addresses) {
        return addresses.error();
    }
    for (const auto& row : addresses->rows) {
        data->from_any_addresses[row.str(0) + "@" + ascii_lower(row.str(1))] = row.i64(2) != 0;
    }
    return std::shared_ptr<const signing_data>(std::move(data));
}

}  // namespace vhostmail::milter
