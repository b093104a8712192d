// SPDX-License-Identifier: Apache-2.0
// cmd_address.cc - vhostmail address add|remove|set|list|show, forward add|remove,
// grant add|remove.
#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

namespace {

using args_t = std::vector<std::string>;

int address_add(context& ctx, const args_t& a) {
    auto s = settings_from(a, 1, ctx);
    if (!s) {
        return exit_usage;
    }
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.add_address(a[0], *s);
        return r ? print_done(ctx, "added address " + a[0]) : ctx.fail(r.failure());
    });
}

int address_remove(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.remove_address(a[0]);
        return r ? print_done(ctx, "removed address " + a[0]) : ctx.fail(r.failure());
    });
}

int address_set(context& ctx, const args_t& a) {
    auto s = settings_from(a, 1, ctx);
    if (!s) {
        return exit_usage;
    }
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.set_address(a[0], *s);
        return r ? print_done(ctx, "updated address " + a[0]) : ctx.fail(r.failure());
    });
}

int address_list(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.list_addresses(a[0]);
        if (!r) {
            return ctx.fail(r.failure());
        }
        print_table(ctx, *r);
        return exit_ok;
    });
}

int address_show(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.show_address(a[0]);
        if (!r) {
            return ctx.fail(r.failure());
        }
        print_fields(ctx, *r);
        return exit_ok;
    });
}

// "a, b and c" for people.
std::string listed(const args_t& a, size_t from) {
    std::string out;
    for (size_t i = from; i < a.size(); ++i) {
        out += (i == from ? "" : i + 1 == a.size() ? " and " : ", ") + a[i];
    }
    return out;
}

// All the destinations, or none of them (one transaction).
int forward_change(context& ctx, const args_t& a, bool add) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.batch(
            [&]() -> vhost::admin_result<vhost::done> {
                for (size_t i = 1; i < a.size(); ++i) {
                    auto one =
                        add ? store.add_forward(a[0], a[i]) : store.remove_forward(a[0], a[i]);
                    if (!one) {
                        return one;
                    }
                }
                return vhost::done{};
            },
            true);
        return r ? print_done(ctx, (add ? "forwarding " : "no longer forwarding ") + a[0] + " to " +
                                       listed(a, 1))
                 : ctx.fail(r.failure());
    });
}

int forward_add(context& ctx, const args_t& a) {
    return forward_change(ctx, a, true);
}

int forward_remove(context& ctx, const args_t& a) {
    return forward_change(ctx, a, false);
}

int grant_add(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.add_grant(a[0], a[1]);
        return r ? print_done(ctx, a[0] + " may send as " + a[1]) : ctx.fail(r.failure());
    });
}

int grant_remove(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.remove_grant(a[0], a[1]);
        return r ? print_done(ctx, a[0] + " may no longer send as " + a[1])
                 : ctx.fail(r.failure());
    });
}

}  // namespace

std::vector<command> address_commands() {
    auto help = settings_help(vhost::address_setting_help());
    return {
        {"address add", "ADDRESS [setting=value ...]",
         "create an address (mailbox=yes for a mailbox; forwardings with 'address forward add')", 1,
         SIZE_MAX, address_add, help},
        {"address remove", "ADDRESS", "remove an address with its forwardings and grants", 1, 1,
         address_remove, ""},
        {"address set", "ADDRESS setting=value ...", "change an address", 2, SIZE_MAX, address_set,
         help},
        {"address list", "DOMAIN", "list a domain's addresses", 1, 1, address_list, ""},
        {"address show", "ADDRESS", "show an address", 1, 1, address_show, ""},
        {"address forward add", "ADDRESS DESTINATION...",
         "forward mail for ADDRESS to each DESTINATION (all or none)", 2, SIZE_MAX, forward_add,
         ""},
        {"address forward remove", "ADDRESS DESTINATION...",
         "stop forwarding to each DESTINATION (all or none)", 2, SIZE_MAX, forward_remove, ""},
        {"address grant add", "LOGIN TARGET",
         "let LOGIN send as TARGET (an address, or @domain for all of it)", 2, 2, grant_add, ""},
        {"address grant remove", "LOGIN TARGET", "withdraw a send grant", 2, 2, grant_remove, ""},
    };
}

}  // namespace vhostmail::admin
