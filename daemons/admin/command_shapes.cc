// SPDX-License-Identifier: Apache-2.0
// command_shapes.cc - the shapes most commands share (admin.hh): a store change and its "done"
// line, a list, one record.
#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

command_run change(change_op op, done_text done) {
    return [op = std::move(op), done = std::move(done)](context& ctx, const words& a) {
        return with_store(ctx, [&](vhost::admin_store& store) {
            auto r = op(store, a);
            return r ? print_done(ctx, done(a)) : ctx.fail(r.failure());
        });
    };
}

command_run change(one_name_change op, done_text done) {
    return change([op](vhost::admin_store& store, const words& a) { return (store.*op)(a[0]); },
                  std::move(done));
}

command_run change(two_name_change op, done_text done) {
    return change(
        [op](vhost::admin_store& store, const words& a) { return (store.*op)(a[0], a[1]); },
        std::move(done));
}

command_run change(settings_change op, done_text done) {
    return [op, done = std::move(done)](context& ctx, const words& a) {
        auto s = settings_from(a, 1, ctx);
        if (!s) {
            return exit_usage;
        }
        return with_store(ctx, [&](vhost::admin_store& store) {
            auto r = (store.*op)(a[0], *s);
            return r ? print_done(ctx, done(a)) : ctx.fail(r.failure());
        });
    };
}

command_run list(name_table op) {
    return [op = std::move(op)](context& ctx, const words& a) {
        return with_store(ctx, [&](vhost::admin_store& store) {
            auto r = op(store, a.empty() ? std::string() : a[0]);
            if (!r) {
                return ctx.fail(r.failure());
            }
            print_table(ctx, *r);
            return exit_ok;
        });
    };
}

command_run show(name_fields op) {
    return [op = std::move(op)](context& ctx, const words& a) {
        return with_store(ctx, [&](vhost::admin_store& store) {
            auto r = op(store, a[0]);
            if (!r) {
                return ctx.fail(r.failure());
            }
            print_fields(ctx, *r);
            return exit_ok;
        });
    };
}

}  // namespace vhostmail::admin
