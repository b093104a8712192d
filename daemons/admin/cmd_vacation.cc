// SPDX-License-Identifier: Apache-2.0
// cmd_vacation.cc - vhostmail vacation set|clear|show.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>

#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

namespace {

constexpr size_t max_body = 64 * 1024;

std::optional<std::string> read_body(const std::string& source, const context& ctx) {
    std::string body;
    if (source == "-") {
        body.assign(std::istreambuf_iterator<char>(std::cin), {});
    } else {
        std::ifstream in(source, std::ios::binary);
        if (!in) {
            ctx.fail("cannot read " + source);
            return std::nullopt;
        }
        body.assign(std::istreambuf_iterator<char>(in), {});
    }
    if (body.size() > max_body) {
        ctx.fail("vacation body larger than 64 KiB");
        return std::nullopt;
    }
    return body;
}

int vacation_set(context& ctx, const words& a) {
    words given{a[0]};
    std::optional<std::string> body;
    for (size_t i = 1; i < a.size(); ++i) {
        if (a[i] == "--body-file" && i + 1 < a.size()) {
            body = read_body(a[++i], ctx);
            if (!body) {
                return exit_failed;
            }
        } else if (a[i] == "--body-stdin") {
            body = read_body("-", ctx);
            if (!body) {
                return exit_failed;
            }
        } else {
            given.push_back(a[i]);
        }
    }
    auto s = settings_from(given, 1, ctx);
    if (!s) {
        return exit_usage;
    }
    for (const auto& [name, value] : *s) {
        if (name == "body") {
            return ctx.fail("give the body with --body-file FILE or --body-stdin");
        }
    }
    if (body) {
        s->emplace_back("body", *body);
    }
    return change(
        [&s](vhost::admin_store& store, const words& w) { return store.set_vacation(w[0], *s); },
        [](const words& w) { return "vacation set for " + w[0]; })(ctx, a);
}

}  // namespace

std::vector<command> vacation_commands() {
    return {
        {"vacation set", "ADDRESS [--body-file FILE | --body-stdin] [setting=value ...]",
         "set or change an auto-reply", 1, SIZE_MAX, vacation_set,
         "settings (name=value): enabled=yes|no subject=TEXT starts_at=YYYY-MM-DD[ HH:MM[:SS]]\n"
         "  ends_at=... (UTC, or none) interval_seconds=7d (one reply per sender per interval)\n"},
        {"vacation clear", "ADDRESS", "remove the auto-reply", 1, 1,
         change(&vhost::admin_store::clear_vacation,
                [](const words& a) { return "vacation cleared for " + a[0]; }),
         ""},
        {"vacation show", "ADDRESS", "show the auto-reply", 1, 1,
         show(&vhost::admin_store::show_vacation), ""},
    };
}

}  // namespace vhostmail::admin
