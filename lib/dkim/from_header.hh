// SPDX-License-Identifier: Apache-2.0
// from_header.hh - the author address of a message: the addr-spec in a From: field's value
// (RFC 5322 3.6.2 mailbox-list), for checking it against the SASL login and choosing the DKIM
// signing domain. Only one mailbox is accepted (RFC 6376 8.15: a From with several mailboxes,
// like several From fields, lets a verifier and a mail reader disagree on the author). Display
// names, comments and folding are skipped; groups, source routes and anything the grammar
// does not allow are errors, never guessed at, so no reader can see a different address than
// the one checked. Pure, reentrant.
#pragma once

#include <string>
#include <string_view>

namespace vhostmail::dkim {

struct from_address {
    enum class kind { one, several, empty, malformed };
    kind what = kind::malformed;
    std::string address;  // kind::one: "local@domain" (a quoted local part unquoted when it
                          // needs no quotes), the domain in lower case
    std::string error;    // otherwise: why, for the reject text
};

// Longest From value looked at (Postfix's header_size_limit is 102400).
inline constexpr size_t max_from_value = 102400;

from_address parse_from_header(std::string_view value);

}  // namespace vhostmail::dkim
