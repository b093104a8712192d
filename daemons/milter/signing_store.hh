// SPDX-License-Identifier: Apache-2.0
// signing_store.hh - what vhostmail-milter reads from the database besides the routing data: the
// active DKIM keys of each domain (their private keys read from the files the rows name) and the
// from_any_in_domain settings. Read whole the first time, then only the rows of the domains the
// routing triggers say changed (vhost::follow_changes), by the routing refresher's thread, so it
// is as current as the routing copy it is used with.
// Thread safety: load() from one thread (the refresher); signing_data is immutable once built.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lib/db/connection.hh"
#include "lib/dkim/signer.hh"
#include "lib/vhost/snapshot_loader.hh"

namespace vhostmail::milter {

struct domain_key {
    std::string selector;
    dkim::algorithm alg = dkim::algorithm::rsa_sha256;
    std::string file;
    std::shared_ptr<const dkim::private_key> key;  // null: the file is unusable
    std::string error;                             // why
};

struct signing_data {
    std::map<std::string, std::vector<domain_key>> keys;  // canonical domain -> active keys
    std::set<std::string> from_any_domains;               // canonical domains with the setting
    std::map<std::string, bool> from_any_addresses;       // "local@canonical" -> its own setting
};

class signing_store {
public:
    // The current signing_data: a new one when the database changed since the last call
    // (else the same pointer); key files are re-read only when they changed on disk.
    db::outcome<std::shared_ptr<const signing_data>> load(db::connection& conn);

private:
    db::outcome<void> apply(db::connection& conn, const vhost::domain_changes& changes);
    // Adds the rows of the three queries (whole, or one domain's) to `data` and `entries`.
    db::outcome<void> read(db::connection& conn, std::string_view keys_sql,
                           std::string_view domains_sql, std::string_view addresses_sql,
                           const std::vector<db::param>& params, signing_data& data,
                           vhost::domain_entry_map& entries);

    struct cached_key {
        dev_t dev = 0;
        ino_t ino = 0;
        time_t ctime = 0;  // changes with the content, the mode and the owner
        off_t size = 0;
        dkim::algorithm alg = dkim::algorithm::rsa_sha256;
        dkim::key_load loaded;
    };

    domain_key read_key(std::string selector, dkim::algorithm alg, std::string file);

    std::map<std::string, cached_key> cache_;  // by file
    std::shared_ptr<const signing_data> current_ = std::make_shared<signing_data>();
    // What current_ holds of each domain (addresses: from_any_addresses keys).
    vhost::domain_entry_map entries_;
    vhost::change_finder changes_;
};

}  // namespace vhostmail::milter
