// SPDX-License-Identifier: Apache-2.0
// checks.hh - the names of vhostmail-policyd's checks, as policyd_mx_checks and
// policyd_submission_checks list them; read by the daemon and by "vhostmail check".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::policy {

enum check : unsigned {
    check_sender_login = 1u << 0,
    check_hosted_sender = 1u << 1,
    check_recipient = 1u << 2,
    check_rate_limit = 1u << 3,
    check_greylist = 1u << 4,
};

// The name of one check ("" for a value that is not one), and every check in their order.
std::string_view check_name(check bit);
const std::vector<check>& all_checks();

// Parses "sender_login recipient ..." into a mask; sets *error on an unknown name.
std::optional<unsigned> parse_checks(const std::vector<std::string>& names, std::string* error);

}  // namespace vhostmail::policy
