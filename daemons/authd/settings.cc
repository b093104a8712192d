// SPDX-License-Identifier: Apache-2.0
#include "daemons/authd/settings.hh"

#include "lib/config/common_params.hh"
#include "lib/params/authd_params.hh"

namespace vhostmail::authd {

auth_settings auth_settings_from(const config::config& cfg) {
    auth_settings s;
    s.throttle = params::authd_throttle_limits(cfg);
    s.verify.allow_plain = cfg.get_bool("authd_allow_plain_passwords");
    s.rehash_weak = cfg.get_bool("authd_rehash_weak_passwords");
    s.hash_rounds = params::authd_hash_rounds(cfg);
    s.delimiters = cfg.get_string(config::common::recipient_delimiter);
    s.cache_ttl = cfg.get_duration("authd_cache_ttl");
    return s;
}

}  // namespace vhostmail::authd
