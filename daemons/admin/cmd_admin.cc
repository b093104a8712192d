// SPDX-License-Identifier: Apache-2.0
// cmd_admin.cc - vhostmail admin add|remove|list: domain administrators.
#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

std::vector<command> admin_commands() {
    using vhost::admin_store;
    return {
        {"admin add", "LOGIN DOMAIN", "make the address LOGIN an administrator of DOMAIN", 2, 2,
         change(&admin_store::add_domain_admin,
                [](const words& a) { return a[0] + " administers " + a[1]; }),
         ""},
        {"admin remove", "LOGIN DOMAIN", "withdraw LOGIN's administration of DOMAIN", 2, 2,
         change(&admin_store::remove_domain_admin,
                [](const words& a) { return a[0] + " no longer administers " + a[1]; }),
         ""},
        {"admin list", "[DOMAIN]", "list domain administrators", 0, 1,
         list(&admin_store::list_domain_admins), ""},
    };
}

}  // namespace vhostmail::admin
