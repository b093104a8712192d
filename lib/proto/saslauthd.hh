// SPDX-License-Identifier: Apache-2.0
// saslauthd.hh - server side of the Cyrus saslauthd protocol (libsasl2 checkpw.c
// saslauthd_verify_password, saslauthd/ipc_unix.c). Pure: no I/O, no logging.
// Wire (one request per connection; docs/protocols.md section 6):
//   request  = field(login) field(password) field(service) field(realm)
//   field    = u16 length, big-endian, then that many bytes (no NUL)
//   response = u16 length + text: "OK..." is success, anything else failure ("NO <reason>").
// There is no temporary-failure reply: close without answering instead (libsasl2 -> SASL_FAIL ->
// Postfix 454).
// Limits: each field at most 256 bytes (the reference saslauthd's MAX_REQ_LEN); libsasl2 sends at
// most 8192 bytes in all. A longer field is an error.
// Thread safety: all functions are reentrant.
#pragma once

#include <string>
#include <string_view>

#include "lib/proto/parsed.hh"

namespace vhostmail::proto {

inline constexpr size_t saslauthd_max_field = 256;

struct saslauthd_request {
    std::string login, password, service, realm;
};

// Every error is fatal (one request per connection); its text never contains the password.
using saslauthd_parse = parsed<saslauthd_request>;

saslauthd_parse parse_saslauthd_request(std::string_view buf);

// The login as an address: libsasl2 cut "user@realm" at the last '@'; put it back together.
std::string saslauthd_full_login(const saslauthd_request& r);

// "OK" / "NO <reason>" framed with its length. `text` is cut at 1000 bytes (libsasl2 reads at
// most 1023).
std::string encode_saslauthd_reply(bool ok, std::string_view text);

}  // namespace vhostmail::proto
