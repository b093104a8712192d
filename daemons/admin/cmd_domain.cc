// SPDX-License-Identifier: Apache-2.0
// cmd_domain.cc - vhostmail domain add|remove|set|list|show, domain alias add|remove.
#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

namespace {

using args_t = std::vector<std::string>;

int domain_add(context& ctx, const args_t& a) {
    auto s = settings_from(a, 1, ctx);
    if (!s) {
        return exit_usage;
    }
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.add_domain(a[0], *s);
        return r ? print_done(ctx, "added domain " + a[0]) : ctx.fail(r.failure());
    });
}

int domain_remove(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.remove_domain(a[0]);
        return r ? print_done(ctx, "removed domain " + a[0] + " and all its addresses")
                 : ctx.fail(r.failure());
    });
}

int domain_set(context& ctx, const args_t& a) {
    auto s = settings_from(a, 1, ctx);
    if (!s) {
        return exit_usage;
    }
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.set_domain(a[0], *s);
        return r ? print_done(ctx, "updated domain " + a[0]) : ctx.fail(r.failure());
    });
}

int domain_list(context& ctx, const args_t&) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.list_domains();
        if (!r) {
            return ctx.fail(r.failure());
        }
        print_table(ctx, *r);
        return exit_ok;
    });
}

int domain_show(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.show_domain(a[0]);
        if (!r) {
            return ctx.fail(r.failure());
        }
        print_fields(ctx, *r);
        return exit_ok;
    });
}

int alias_add(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.add_domain_alias(a[0], a[1]);
        return r ? print_done(ctx, "added domain alias " + a[0] + " -> " + a[1])
                 : ctx.fail(r.failure());
    });
}

int alias_remove(context& ctx, const args_t& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.remove_domain_alias(a[0]);
        return r ? print_done(ctx, "removed domain alias " + a[0]) : ctx.fail(r.failure());
    });
}

}  // namespace

std::vector<command> domain_commands() {
    auto help = settings_help(vhost::domain_setting_help());
    return {
        {"domain add", "DOMAIN [setting=value ...]", "host a new domain", 1, SIZE_MAX, domain_add,
         help},
        {"domain remove", "DOMAIN", "remove a domain with all its addresses", 1, 1, domain_remove,
         ""},
        {"domain set", "DOMAIN setting=value ...", "change a domain's settings", 2, SIZE_MAX,
         domain_set, help},
        {"domain list", "", "list hosted domains", 0, 0, domain_list, ""},
        {"domain show", "DOMAIN", "show a domain's settings", 1, 1, domain_show, ""},
        {"domain alias add", "ALIAS DOMAIN", "make ALIAS another name of DOMAIN", 2, 2, alias_add,
         ""},
        {"domain alias remove", "ALIAS", "remove a domain alias", 1, 1, alias_remove, ""},
    };
}

}  // namespace vhostmail::admin
