// SPDX-License-Identifier: Apache-2.0
// signing_store.hh - what vhostmail-milter reads from the database besides the routing data: the
// active DKIM keys of each domain (their private keys read from the files the rows name) and the
// from_any_in_domain settings. Reloaded whenever the change serial moves, by the routing
// refresher's thread, so it is exactly as current as the routing copy it is used with.
// Thread safety: load() from one thread (the refresher); signing_data is immutable once built.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "lib/db/connection.hh"
#include "lib/dkim/signer.hh"

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
    // Builds a new signing_data; key files are re-read only when they changed on disk.
    db::outcome<std::shared_ptr<const signing_data>> load(db::connection& conn);

private:
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
};

}  // namespace vhostmail::milter
