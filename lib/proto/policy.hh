// SPDX-License-Identifier: Apache-2.0
// policy.hh - Postfix SMTPD policy delegation codec (check_policy_service), server side. Pure: no
// I/O, no logging. Wire (SMTPD_POLICY_README, smtpd_check.c, attr_scan_plain.c):
//   request  = 1*( name "=" value LF ) LF     ; name: no "=", NUL, LF; value: no NUL, LF
//   response = "action=" value LF LF
// Postfix reuses one connection for many requests and ignores attributes it does not know; so
// do we (every attribute is kept, in order; a repeated name answers with its first value).
// A CR before LF is tolerated (netcat, telnet). Limits: the whole request, blank line included,
// is at most max_request bytes and holds at most max_attributes attributes; Postfix 3.7 sends 29
// short ones, certificate subjects being the only long values.
// Thread safety: all functions are reentrant.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/proto/parsed.hh"

namespace vhostmail::proto {

inline constexpr size_t policy_max_request = 65536;
inline constexpr size_t policy_max_attributes = 128;

struct policy_request {
    std::vector<std::pair<std::string, std::string>> attributes;  // in wire order

    // The first value of `name`, or "" when absent (Postfix sends missing values empty, too).
    std::string_view get(std::string_view name) const;
    bool has(std::string_view name) const;
};

// Outcome of parse_policy_request.
// An error is fatal when no blank line came within max_request (close).
using policy_parse = parsed<policy_request>;

// Parses one request from the front of buf. A request that is framed correctly but malformed
// inside (a line without '=', an empty name, NUL, too many attributes, no or another
// request=smtpd_access_policy) is a non-fatal error with consumed set: answer it and go on.
policy_parse parse_policy_request(std::string_view buf, size_t max_request = policy_max_request,
                                  size_t max_attributes = policy_max_attributes);

// "action=<action>\n\n". Postfix reads the value up to LF and, with smtputf8_enable, drops a
// value that is not valid UTF-8 (then applies its default action): control characters become
// spaces and bytes that do not form valid UTF-8 become '?', so what we mean is what it reads.
std::string encode_policy_reply(std::string_view action);

}  // namespace vhostmail::proto
