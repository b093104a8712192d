// SPDX-License-Identifier: Apache-2.0
// directory.hh - the read interface the address resolver routes through. Implementations: the
// in-memory snapshot (snapshot_directory: lookupd, policyd, lmtpd's copy, `vhostmail resolve`)
// and direct queries (sql_directory: vhostmail-deliver-direct, lmtpd without a current copy);
// routing_source chooses between them by the freshness rules.
// Views returned (routing_views.hh) stay valid for the lifetime of the directory object (a
// directory pins the data it serves). Every method may answer temp_fail; the resolver passes
// that on unchanged.
// Thread safety: one directory object per request/thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "lib/core/lookup.hh"
#include "lib/vhost/routing_views.hh"

namespace vhostmail::vhost {

class directory {
public:
    virtual ~directory() = default;

    // The hosted domain named `name` (lower case), or whose enabled domain alias `name` is;
    // the record returned carries the canonical name. Disabled domains are returned too.
    virtual lookup<domain_view> find_domain(std::string_view name) = 0;

    // The address `local_part` (lower case) of a domain found by find_domain.
    virtual lookup<address_view> find_address(const domain_view& domain,
                                              std::string_view local_part) = 0;

    // The one address whose normalize_full_name(full_name) equals `normalized`; not_found when
    // none or several match (an ambiguous name must not pick a mailbox at random).
    virtual lookup<address_view> find_full_name(const domain_view& domain,
                                                std::string_view normalized) = 0;

    // Logins ("local@domain", canonical) granted the right to send as `local_part`@domain: the
    // grants on that local part, then those on the whole domain, then the domain's
    // administrators, each group ordered by the login's domain, then its local part (so every
    // implementation, and every load of a copy, lists them alike). A login may appear twice.
    virtual lookup<std::vector<std::string>> sender_grants(const domain_view& domain,
                                                           std::string_view local_part) = 0;
};

}  // namespace vhostmail::vhost
