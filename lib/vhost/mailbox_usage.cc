// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/mailbox_usage.hh"

namespace vhostmail::vhost {

namespace {

constexpr std::string_view write_sql =
    "INSERT INTO mailbox_usage (address_id, node, bytes, messages, updated_at)"
    " VALUES (?, ?, ?, ?, FROM_UNIXTIME(?))"
    " ON DUPLICATE KEY UPDATE bytes = VALUES(bytes), messages = VALUES(messages),"
    " updated_at = VALUES(updated_at)";

constexpr std::string_view read_sql =
    "SELECT bytes, messages FROM mailbox_usage WHERE address_id = ?"
    " ORDER BY updated_at DESC, node LIMIT 1";

constexpr std::string_view read_all_sql =
    "SELECT u.address_id, u.bytes, u.messages FROM mailbox_usage u WHERE u.node ="
    " (SELECT v.node FROM mailbox_usage v WHERE v.address_id = u.address_id"
    " ORDER BY v.updated_at DESC, v.node LIMIT 1)";

}  // namespace

db::outcome<void> write_mailbox_usage(db::connection& conn, const std::string& node,
                                      uint64_t address_id, const usage_measurement& m) {
    auto r =
        conn.query(write_sql, {address_id, node, m.usage.bytes, m.usage.messages, m.measured_at});
    if (!r) {
        return r.error();
    }
    return {};
}

db::outcome<store::quota_usage> read_mailbox_usage(db::connection& conn, uint64_t address_id) {
    auto r = conn.query(read_sql, {address_id});
    if (!r) {
        return r.error();
    }
    store::quota_usage u;
    if (!r->rows.empty()) {
        u.bytes = r->rows.front().i64(0);
        u.messages = r->rows.front().i64(1);
    }
    return u;
}

db::outcome<std::unordered_map<uint64_t, store::quota_usage>> read_all_mailbox_usage(
    db::connection& conn) {
    auto r = conn.query(read_all_sql);
    if (!r) {
        return r.error();
    }
    std::unordered_map<uint64_t, store::quota_usage> out;
    for (const auto& row : r->rows) {
        out[row.u64(0)] = {row.i64(1), row.i64(2)};
    }
    return out;
}

}  // namespace vhostmail::vhost
