// SPDX-License-Identifier: Apache-2.0
// cmd_domain.cc - vhostmail domain add|remove|set|list|show, domain alias add|remove.
#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

std::vector<command> domain_commands() {
    using vhost::admin_store;
    auto help = settings_help(vhost::domain_setting_help());
    return {
        {"domain add", "DOMAIN [setting=value ...]", "host a new domain", 1, SIZE_MAX,
         change(&admin_store::add_domain, [](const words& a) { return "added domain " + a[0]; }),
         help},
        {"domain remove", "DOMAIN", "remove a domain with all its addresses", 1, 1,
         change(&admin_store::remove_domain,
                [](const words& a) { return "removed domain " + a[0] + " and all its addresses"; }),
         ""},
        {"domain set", "DOMAIN setting=value ...", "change a domain's settings", 2, SIZE_MAX,
         change(&admin_store::set_domain, [](const words& a) { return "updated domain " + a[0]; }),
         help},
        {"domain list", "", "list hosted domains", 0, 0,
         list([](admin_store& store, const std::string&) { return store.list_domains(); }), ""},
        {"domain show", "DOMAIN", "show a domain's settings", 1, 1, show(&admin_store::show_domain),
         ""},
        {"domain alias add", "ALIAS DOMAIN", "make ALIAS another name of DOMAIN", 2, 2,
         change(&admin_store::add_domain_alias,
                [](const words& a) { return "added domain alias " + a[0] + " -> " + a[1]; }),
         ""},
        {"domain alias remove", "ALIAS", "remove a domain alias", 1, 1,
         change(&admin_store::remove_domain_alias,
                [](const words& a) { return "removed domain alias " + a[0]; }),
         ""},
    };
}

}  // namespace vhostmail::admin
