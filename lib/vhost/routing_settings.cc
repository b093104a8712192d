// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/routing_settings.hh"

#include "lib/config/common_params.hh"

namespace vhostmail::vhost {

resolve_options routing_options(const config::config& cfg) {
    resolve_options o;
    o.delimiters = cfg.get_string(config::common::recipient_delimiter);
    o.propagate_extension = cfg.get_bool(config::common::propagate_unmatched_extensions);
    return o;
}

}  // namespace vhostmail::vhost
