// SPDX-License-Identifier: Apache-2.0
// greylist.hh - greylisting rules (pure): the triplet's client network, the static whitelists,
// and the verdict from what the database knows about a triplet.
// Thread safety: pure; greylist_whitelist is immutable after construction.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/core/network.hh"

namespace vhostmail::policy {

struct greylist_whitelist {
    std::vector<cidr> networks;
    std::vector<std::string> client_names;       // "example.net": that name and its subdomains
    std::vector<std::string> recipient_domains;  // same matching, on the recipient's domain

    // Builds from the three config lists; sets *error on a bad network.
    static std::optional<greylist_whitelist> parse(const std::vector<std::string>& networks,
                                                   const std::vector<std::string>& names,
                                                   const std::vector<std::string>& domains,
                                                   std::string* error);

    // The reason the request is exempt ("client network 192.0.2.0/24"), or "" when it is not.
    std::string exempt(std::string_view client_address, std::string_view client_name,
                       std::string_view recipient) const;
};

// What the database holds about a triplet, as read.
struct triplet_state {
    bool new_triplet = false;  // this request inserted it
    int64_t age_s = 0;         // now - first_seen (database clock)
    bool passed = false;       // passed_at is set
};

enum class greylist_verdict {
    pass,     // known good, or retried after the delay: accept (and record the pass)
    defer,    // too early: defer for `wait_s` more seconds
    restart,  // retried too late: start over (first_seen = now) and defer
};

struct greylist_decision {
    greylist_verdict verdict = greylist_verdict::pass;
    int64_t wait_s = 0;
};

greylist_decision decide_greylist(const triplet_state& s, int64_t delay_s, int64_t retry_window_s);

// True when name equals domain or ends with "." + domain (both compared case-insensitively).
bool domain_matches(std::string_view name, std::string_view domain);

}  // namespace vhostmail::policy
