// SPDX-License-Identifier: Apache-2.0
// lmtp_relay.hh - vhostmail-deliver's fast path (deliver_lmtp_relay): hand the message to a
// running vhostmail-lmtpd over LMTP instead of opening a database connection, routing and
// writing in this one-message process. lmtpd's per-recipient replies become the results, so
// pipe(8) sees the same exit status and DSN as with direct delivery.
// When lmtpd cannot be reached at all (no socket, refused, no permission), the caller delivers
// directly; any trouble after connecting is a temporary failure for every recipient (lmtpd may
// have delivered some, so delivering directly could duplicate them).
// Thread safety: reentrant.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "daemons/deliver/delivery.hh"

namespace vhostmail::deliver {

struct relay_request {
    std::string socket_path;
    std::string sender;                   // "" for the null sender
    std::vector<std::string> recipients;
    std::string original_recipient;       // sent as ORCPT when not empty
    std::string helo_name;
    std::chrono::milliseconds timeout{std::chrono::minutes(10)};
};

// nullopt: lmtpd not reachable (deliver directly). Else one result per recipient, in order.
std::optional<std::vector<delivery_result>> relay_to_lmtpd(const relay_request& req,
                                                           std::string_view lf_message);

// Pure: the delivery result (with its pipe(8) exit status) an LMTP reply stands for.
delivery_result result_from_reply(int code, std::string_view enhanced, std::string_view text);

}  // namespace vhostmail::deliver
