// SPDX-License-Identifier: Apache-2.0
// resolver.hh - the one place that knows how an address is routed. lookupd's maps, the policy
// service, the delivery agent and the admin tool's `resolve` all ask this code, so their answers
// cannot disagree.
//
// Order for local@domain (domain lower-cased, local part lower-cased):
//   1. domain: a hosted domain or an enabled domain alias of one (-> canonical name); not hosted
//      -> the address is remote; disabled or not accepting mail -> dead end.
//   2. the exact address; else the address without its +extension (recipient_delimiter).
//      Found and disabled -> dead end: a disabled address is never caught by the fallback.
//      Found: its mailbox, its active vacation (auto-reply) and each forwarding, recursively.
//   3. full-name match ("joe.who" -> the address whose full name is "Joe Who"), when the domain
//      enables it and exactly one address matches.
//   4. the domain's fallback: "" (dead end), "|command", "@other" (same local part there),
//      "user@other", "localpart" (same domain), each resolved again.
// Dead ends inside an expansion are dropped; an expansion that reaches nothing deliverable is
// not_found as a whole, so Postfix rejects at RCPT instead of accepting and bouncing.
// Loops stop at an address seen before on the same path; depth and size are bounded.
// Thread safety: pure over the directory given; reentrant.
#pragma once

#include <ctime>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/lookup.hh"
#include "lib/srs/srs.hh"
#include "lib/store/quota.hh"
#include "lib/vhost/directory.hh"

namespace vhostmail::vhost {

enum class destination_kind { mailbox, autoreply, command, remote };

std::string_view to_string(destination_kind kind);

// Everything a caller needs to act on a destination, so that policyd's recipient check and the
// delivery agents make no directory call after resolve().
struct destination {
    // Every member has an initializer: designated initializers name only what they set.
    destination_kind kind = destination_kind::remote;
    std::string address{};        // final recipient; for local kinds "local[+ext]@canonical-domain"
    std::string maildir{};        // mailbox: relative Maildir path
    std::string command{};        // command: the fallback's command line without the '|'
    std::string base_local{};     // local kinds: the address's local part without extension
    std::string extension{};      // local kinds: the extension carried ("" when none)
    uint64_t address_id = 0;      // mailbox, autoreply: the address it belongs to
    store::quota_limits quota{};  // mailbox: mailbox_quota() of its address
    bool vacation = false;        // mailbox, autoreply: its vacation is on (options' now)
    std::string filter_command{};  // local kinds: the domain's filter ("" when none)
};

// The quota of an address's mailbox: its own limits, else its domain's defaults (0 = none).
store::quota_limits mailbox_quota(const domain_view& domain, const address_view& address);

struct resolve_options {
    std::string delimiters = "+";     // recipient_delimiter
    bool propagate_extension = true;  // Postfix propagate_unmatched_extensions (canonical, virtual)
    bool use_fallback = true;         // false: explicit routing only (sender rights)
    bool use_full_name = true;
    unsigned max_depth = 20;         // nesting of aliases
    size_t max_destinations = 1000;  // Postfix virtual_alias_expansion_limit
    std::time_t now = 0;             // for vacation windows
    bool trace = true;               // record resolution::trace (lookupd skips it: hot path)
    // For showing routing to a domain administrator: hosted domains outside this set are not
    // entered; the address that leads there is listed in resolution::outside_scope and counts
    // as deliverable. Such a resolution is a view, never a routing answer. null: no boundary.
    const std::set<std::string>* visible_domains = nullptr;
    // The srs_* maps' codec (lookup_maps.hh); null: SRS is off and they find nothing.
    const srs::codec* srs = nullptr;
};

struct resolution {
    lookup_status status = lookup_status::not_found;
    std::vector<destination> destinations;   // found: deduplicated, in expansion order
    std::vector<std::string> trace;          // each step, for `vhostmail resolve` and verbose logs
    std::vector<std::string> visited;        // hosted addresses passed through (canonical)
    std::string reason;                      // temp_fail: why; not_found: the first dead end
    bool rejected_by_domain = false;         // not_found because the domain refuses mail
    std::string reject_text;                 // that domain's text
    std::vector<std::string> outside_scope;  // visible_domains: where the view stopped
};

resolution resolve(directory& dir, std::string_view address, const resolve_options& options);

// The logins ("local@domain") that may use `sender` as envelope sender: the address itself,
// addresses reached from it through explicit forwardings (never through a fallback), explicit
// grants and the domain's administrators; each must be an enabled address with a password in an
// enabled domain. found with an empty list never happens: no login -> not_found.
lookup<std::vector<std::string>> sender_logins(directory& dir, std::string_view sender,
                                               const resolve_options& options);

// Whether `login` may use `sender` (one of its sender_logins, compared without case): found
// with true or false, or temp_fail. The one check policyd's sender_login (envelope) and the
// milter (From: header) make.
lookup<bool> may_send_as(directory& dir, std::string_view login, std::string_view sender,
                         const resolve_options& options);

}  // namespace vhostmail::vhost
