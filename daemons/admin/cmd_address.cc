// SPDX-License-Identifier: Apache-2.0
// cmd_address.cc - vhostmail address add|remove|set|list|show, forward add|remove,
// grant add|remove.
#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

namespace {

// "a, b and c" for people.
std::string listed(const words& a, size_t from) {
    std::string out;
    for (size_t i = from; i < a.size(); ++i) {
        out += (i == from ? "" : i + 1 == a.size() ? " and " : ", ") + a[i];
    }
    return out;
}

// All the destinations, or none of them (one transaction).
change_op each_destination(two_name_change op) {
    return [op](vhost::admin_store& store, const words& a) {
        return store.batch(
            [&]() -> vhost::admin_result<vhost::done> {
                for (size_t i = 1; i < a.size(); ++i) {
                    if (auto one = (store.*op)(a[0], a[i]); !one) {
                        return one;
                    }
                }
                return vhost::done{};
            },
            true);
    };
}

}  // namespace

std::vector<command> address_commands() {
    using vhost::admin_store;
    auto help = settings_help(vhost::address_setting_help());
    return {
        {"address add", "ADDRESS [setting=value ...]",
         "create an address (mailbox=yes for a mailbox; forwardings with 'address forward add')", 1,
         SIZE_MAX,
         change(&admin_store::add_address, [](const words& a) { return "added address " + a[0]; }),
         help},
        {"address remove", "ADDRESS", "remove an address with its forwardings and grants", 1, 1,
         change(&admin_store::remove_address,
                [](const words& a) { return "removed address " + a[0]; }),
         ""},
        {"address set", "ADDRESS setting=value ...", "change an address", 2, SIZE_MAX,
         change(&admin_store::set_address,
                [](const words& a) { return "updated address " + a[0]; }),
         help},
        {"address list", "DOMAIN", "list a domain's addresses", 1, 1,
         list(&admin_store::list_addresses), ""},
        {"address show", "ADDRESS", "show an address", 1, 1, show(&admin_store::show_address), ""},
        {"address forward add", "ADDRESS DESTINATION...",
         "forward mail for ADDRESS to each DESTINATION (all or none)", 2, SIZE_MAX,
         change(each_destination(&admin_store::add_forward),
                [](const words& a) { return "forwarding " + a[0] + " to " + listed(a, 1); }),
         ""},
        {"address forward remove", "ADDRESS DESTINATION...",
         "stop forwarding to each DESTINATION (all or none)", 2, SIZE_MAX,
         change(
             each_destination(&admin_store::remove_forward),
             [](const words& a) { return "no longer forwarding " + a[0] + " to " + listed(a, 1); }),
         ""},
        {"address grant add", "LOGIN TARGET",
         "let LOGIN send as TARGET (an address, or @domain for all of it)", 2, 2,
         change(&admin_store::add_grant,
                [](const words& a) { return a[0] + " may send as " + a[1]; }),
         ""},
        {"address grant remove", "LOGIN TARGET", "withdraw a send grant", 2, 2,
         change(&admin_store::remove_grant,
                [](const words& a) { return a[0] + " may no longer send as " + a[1]; }),
         ""},
    };
}

}  // namespace vhostmail::admin
