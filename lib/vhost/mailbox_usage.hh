// SPDX-License-Identifier: Apache-2.0
// mailbox_usage.hh - the one owner of the mailbox_usage table (sql/migrations/0003_delivery.sql,
// docs/cluster.md): each delivering host writes the absolute usage it measured in a Maildir's
// maildirsize under its own node name, never an increment, so a lost or repeated write is
// harmless and no row is shared by hosts; readers take the newest row of an address. Written by
// the delivery agents; read by policyd's recipient check and `vhostmail check`.
// Thread safety: the functions use only the connection given.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include "lib/db/connection.hh"
#include "lib/store/quota.hh"

namespace vhostmail::vhost {

struct usage_measurement {
    store::quota_usage usage;
    double measured_at = 0;  // UNIX time of the measurement: the newest measurement wins
};

// Writes (replaces) this node's record of an address. One statement: call it inside a
// transaction to write several at once.
db::outcome<void> write_mailbox_usage(db::connection& conn, const std::string& node,
                                      uint64_t address_id, const usage_measurement& m);

// The newest usage of an address; zero when none was recorded yet (nothing delivered).
db::outcome<store::quota_usage> read_mailbox_usage(db::connection& conn, uint64_t address_id);

// The newest usage of every address that has a record.
db::outcome<std::unordered_map<uint64_t, store::quota_usage>> read_all_mailbox_usage(
    db::connection& conn);

}  // namespace vhostmail::vhost
