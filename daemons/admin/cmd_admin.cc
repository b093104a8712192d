// SPDX-License-Identifier: Apache-2.0
// cmd_admin.cc - vhostmail admin add|remove|list: domain administrators.
#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

namespace {

using args_t = std::vector<std::string>;

int admin_add(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.add_domain_admin(a[0], a[1]);
        return r ? print_done(ctx, a[0] + " administers " + a[1]) : ctx.fail(r.failure());
    });
}

int admin_remove(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.remove_domain_admin(a[0], a[1]);
        return r ? print_done(ctx, a[0] + " no longer administers " + a[1])
                 : ctx.fail(r.failure());
    });
}

int admin_list(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.list_domain_admins(a.empty() ? std::string() : a[0]);
        if (!r) {
            return ctx.fail(r.failure());
        }
        print_table(ctx, *r);
        return exit_ok;
    });
}

}  // namespace

std::vector<command> admin_commands() {
    return {
        {"admin add", "LOGIN DOMAIN", "make the address LOGIN an administrator of DOMAIN", 2, 2,
         admin_add, ""},
        {"admin remove", "LOGIN DOMAIN", "withdraw LOGIN's administration of DOMAIN", 2, 2,
         admin_remove, ""},
        {"admin list", "[DOMAIN]", "list domain administrators", 0, 1, admin_list, ""},
    };
}

}  // namespace vhostmail::admin
