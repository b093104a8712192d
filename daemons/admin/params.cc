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
           .doc = "Postfix's postconf, run by \"vhostmail check --postfix\" and \"setup\""});
    t.add({.name = "admin_postfix_command",
           .type = config::param_type::string,
           .default_value = "/usr/sbin/postfix",
           .doc = "Postfix's postfix command, with which \"vhostmail setup\" reloads it"});
    t.add({.name = "admin_systemctl_command",
           .type = config::param_type::string,
           .default_value = "/bin/systemctl",
           .doc = "systemctl, with which \"vhostmail setup\" enables and starts the daemons"});
    t.add(
        {.name = "admin_daemon_directory",
         .type = config::param_type::string,
         .default_value = "/usr/sbin",
         .doc = "where \"vhostmail setup\" finds the installed daemons (vhostmail-lookupd, ...)"});
    t.add({.name = "admin_snippet_directory",
           .type = config::param_type::string,
           .default_value = "/usr/share/vhostmail/postfix-snippets",
           .doc = "the Postfix snippets \"vhostmail setup\" applies"});
    t.add({.name = "admin_credentials_directory",
           .type = config::param_type::string,
           .default_value = "/etc/vhostmail/db",
           .doc = "with a remote database, where \"vhostmail setup\" keeps each daemon's"
                  " credentials (one MariaDB option file per daemon user, mode 0400)"});
    t.add({.name = "admin_unit_directory",
           .type = config::param_type::string,
           .default_value = "/etc/systemd/system",
           .doc = "where \"vhostmail setup\" puts the units' drop-ins (remote database)"});
    t.add({.name = "admin_dkim_key_directory",
           .type = config::param_type::string,
           .default_value = "/etc/vhostmail/dkim",
           .doc = "where \"vhostmail dkim keygen\" writes private keys (DOMAIN.SELECTOR.key)"});
    t.add({.name = "admin_dkim_key_group",
           .type = config::param_type::string,
           .default_value = "vhostmail-milter",
           .doc = "the group that may read the private keys (vhostmail-milter's): keys are"
                  " root:GROUP 0640"});
    t.add({.name = "admin_state_directory",
           .type = config::param_type::string,
           .default_value = "/var/lib/vhostmail",
           .doc = "where \"vhostmail setup\" keeps the saved Postfix configuration and what it"
                  " set"});
}

void declare_params(config::param_table& t) {
    declare_own_params(t);
    // Read, not owned: --as signs in under authd's throttling (vhostmail-authd(8)).
    config::declare_daemon_params(t, params::authd);
}

}  // namespace vhostmail::admin
