// SPDX-License-Identifier: Apache-2.0
// lookup_maps.hh - the maps lookupd serves Postfix, also shown by `vhostmail resolve`: (map name,
// key) -> found value / not found / temporary failure, answered through the one address resolver.
// Knows neither bytes nor SQL.
//   domains    hosted domains and their enabled domain aliases (virtual_mailbox_domains)
//   aliases    virtual_alias_maps: final destinations, comma-separated; not found when the
//              address is simply its own mailbox (the mailboxes map answers it then)
//   mailboxes  virtual_mailbox_maps: the Maildir path relative to the mail base, ending in '/'
//   senders    smtpd_sender_login_maps: the SASL logins that may use the sender address
//   transports       transport_maps: an address's own transport, else its domain's, when it has
//                    one (Postfix asks these tables with the full address); a bare domain too
//   relay_domains    relay_domains: the domains this host is a backup MX for (role backup)
//   relay_recipients relay_recipient_maps: "OK" for an address of a backup domain that the
//                    primary would deliver (the resolver's answer), so others are refused at RCPT
//   relayhosts       sender_dependent_relayhost_maps: the relayhost of the sender's domain
//   A backup domain is not in domains, aliases or mailboxes: this host relays its mail and
//   delivers none of it (docs/routing.md).
//   srs_forward   sender_canonical_maps: the SRS form of a sender outside our domains
//   srs_reverse   recipient_canonical_maps: the sender an SRS address of ours stands for; any
//                 other address (a forged or expired one among them) is not found, so Postfix
//                 refuses it at RCPT like any unknown user of the SRS domain (docs/srs.md)
// Thread safety: reentrant; the directory is per request.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "lib/core/lookup.hh"
#include "lib/vhost/directory.hh"
#include "lib/vhost/resolver.hh"

namespace vhostmail::vhost {

enum class map_kind {
    domains,
    aliases,
    mailboxes,
    senders,
    srs_forward,
    srs_reverse,
    transports,
    relay_domains,
    relay_recipients,
    relayhosts
};
inline constexpr size_t map_kind_count = 10;

std::optional<map_kind> parse_map_name(std::string_view name);
std::string_view to_string(map_kind map);

// What an answer met on the way that an admin should hear of (lookupd logs it).
struct answer_notes {
    std::string loop;  // "alias loop at x@y" when the expansion ran into one
};

// Never returns found with an empty value (Postfix treats that as an error).
lookup<std::string> answer(map_kind map, std::string_view key, directory& dir,
                           const resolve_options& options, answer_notes* notes = nullptr);

// Quotes a local part for an address list when Postfix's parser would split it
// ("a b"@x, "a,b"@x); plain local parts stay as they are.
std::string format_address(std::string_view address);

}  // namespace vhostmail::vhost
