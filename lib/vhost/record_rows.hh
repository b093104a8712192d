// SPDX-License-Identifier: Apache-2.0
// record_rows.hh - database rows to routing records, shared by every reader of the routing
// tables (the snapshot loader, the SQL directory) so they cannot read a column differently.
// Column order, from `first`:
//   domain:  id, name, enabled, accepts_mail, reject_text, logins, quota_bytes, quota_messages,
//            max_message_size, fallback, filter_command, fullname_matching, (role is backup),
//            transport, relayhost
//   address: id, local_part, enabled, mailbox, maildir, (password is set), full_name, logins,
//            quota_bytes, quota_messages, transport
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "lib/db/statement.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

inline constexpr size_t domain_row_columns = 15;
inline constexpr size_t address_row_columns = 11;

// The SELECT list the two decoders below read, in their order, each column qualified with
// `table` ("d." / "a.", or "" for none): every query of the routing tables uses these, so a
// column added here is read everywhere.
std::string domain_select_list(std::string_view table = "");
std::string address_select_list(std::string_view table = "");

// `Row`: db::row or db::row_view (a streamed result); both read the same columns alike.
template <typename Row>
domain_record domain_from_row(const Row& r, size_t first = 0);

// A mailbox without a stored Maildir gets "<domain>/<local>/"; a stored one ends in '/'.
address_record address_from_row(const db::row& r, size_t first, const std::string& domain_name);
// The same into `out`, reusing its strings (forwards and vacation are cleared), except that a
// mailbox without a stored Maildir is left with none: what the image stores either way
// (encode_address_record), so the full load need not build the default path of every mailbox.
template <typename Row>
void address_from_row(const Row& r, size_t first, address_record& out);

}  // namespace vhostmail::vhost
