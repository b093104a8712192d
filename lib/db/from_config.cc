// SPDX-License-Identifier: Apache-2.0
#include "lib/db/from_config.hh"

#include <unistd.h>

#include "lib/config/common_params.hh"

namespace vhostmail {

db::settings db_settings_from(const config::config& cfg) {
    namespace c = config::common;
    db::settings s;
    s.hosts = cfg.get_list(c::db_hosts);
    s.user = cfg.get_string(c::db_user);
    s.password = cfg.get_string(c::db_password);
    s.database = cfg.get_string(c::db_name);
    s.option_file = cfg.get_string(c::db_option_file);
    s.option_group = cfg.get_string(c::db_option_group);
    s.charset = cfg.get_string(c::db_charset);
    s.connect_timeout = cfg.get_duration(c::db_connect_timeout);
    s.read_timeout = cfg.get_duration(c::db_read_timeout);
    s.write_timeout = cfg.get_duration(c::db_write_timeout);
    s.retry_interval = cfg.get_duration(c::db_retry_interval);
    s.idle_interval = cfg.get_duration(c::db_idle_interval);
    s.lease_timeout = cfg.get_duration(c::db_lease_timeout);
    s.pool_size = static_cast<unsigned>(cfg.get_int(c::db_pool_size));
    s.tls_require = cfg.get_bool(c::db_tls);
    s.tls_verify_cert = cfg.get_bool(c::db_tls_verify_cert);
    s.tls_ca_file = cfg.get_string(c::db_tls_ca_file);
    s.tls_ca_path = cfg.get_string(c::db_tls_ca_path);
    s.tls_cert_file = cfg.get_string(c::db_tls_cert_file);
    s.tls_key_file = cfg.get_string(c::db_tls_key_file);
    return s;
}

std::string shard_id(const config::config& cfg, std::string_view param) {
    std::string id = cfg.get_string(param);
    if (!id.empty()) {
        return id;
    }
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0) {
        return "unknown";
    }
    return host;
}

}  // namespace vhostmail
