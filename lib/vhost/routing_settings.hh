// SPDX-License-Identifier: Apache-2.0
// routing_settings.hh - the one reading of the routing parameters (recipient_delimiter,
// propagate_unmatched_extensions). lookupd, policyd, lmtpd, deliver and the admin tool take their
// resolver options from here, so a setting cannot reach one of them and miss another.
// Pure; reentrant.
#pragma once

#include "lib/config/config.hh"
#include "lib/vhost/resolver.hh"

namespace vhostmail::vhost {

// Resolver options as configured; callers add what is theirs (now, trace, use_fallback).
resolve_options routing_options(const config::config& cfg);

}  // namespace vhostmail::vhost
