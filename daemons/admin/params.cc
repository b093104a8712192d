// SPDX-License-Identifier: Apache-2.0
#include "lib/config/server_params.hh"
#include "lib/params/authd_params.hh"

#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

void declare_own_params(config::param_table& t) {
    t.add({.name = "admin_migrations_directory",
           .type = config::param_type::string,
           .default_value = "/usr/share/vhostmail/sql/migrations",
           .doc = "where \"vhostmail db migrate\" finds the NNNN_name.sql schema migrations"});
    t.add({.name = "admin_postconf_command",
           .type = config::param_type::string,
           .default_value = "/usr/sbin/postconf",
           .doc = "Postfix's postconf, run by \"vhostmail check --postfix\""});
}

void declare_params(config::param_table& t) {
    declare_own_params(t);
    // Read, not owned: --as signs in under authd's throttling (vhostmail-authd(8)).
    config::declare_daemon_params(t, params::authd);
}

}  // namespace vhostmail::admin
