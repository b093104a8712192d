// SPDX-License-Identifier: Apache-2.0
// cmd_resolve.cc - vhostmail resolve ADDRESS: how mail for an address is routed, step by step,
// and what lookupd answers Postfix for it. It loads the routing data with lookupd's own loader
// and asks lookupd's own map code, so the two cannot disagree.
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <set>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/proto/tcp_table.hh"
#include "lib/vhost/lookup_maps.hh"
#include "lib/vhost/routing_settings.hh"
#include "lib/vhost/snapshot.hh"

#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

namespace {

// The comma-separated addresses of a lookupd answer that lie in `domains` (others: "...").
std::string within_scope(const std::string& value, const std::set<std::string>& domains) {
    std::string out;
    bool hidden = false;
    for (const auto& item : split_list(value, ",")) {
        if (domains.contains(ascii_lower(split_address(item).domain))) {
            out += (out.empty() ? "" : ",") + item;
        } else {
            hidden = true;
        }
    }
    return hidden ? out + (out.empty() ? "" : ",") + "(others not shown)" : out;
}

std::string shown(const lookup<std::string>& answer) {
    return answer.status == lookup_status::found ? answer.value
           : answer.status == lookup_status::not_found
               ? "(not found)"
               : "(temporary failure: " + answer.reason + ")";
}

int resolve(context& ctx, const words& a) {
    if (ctx.scope()) {
        auto parts = parse_address(a[0]);
        if (!parts) {
            return ctx.fail("invalid address \"" + printable(a[0]) + "\"");
        }
        if (int allowed = require_domain(ctx, parts->domain); allowed != exit_ok) {
            return allowed;
        }
    }
    auto snap = ctx.routing_snapshot();
    if (!snap) {
        return exit_failed;
    }
    vhost::resolve_options options = vhost::routing_options(ctx.cfg());
    options.now = std::time(nullptr);
    vhost::snapshot_directory dir(snap);
    // A domain administrator sees the routing inside their own domains only: the view stops
    // where the expansion enters another hosted domain, and whatever lies beyond (does that
    // address exist? is it enabled?) counts as deliverable, so probing is pointless.
    if (ctx.scope()) {
        options.visible_domains = &ctx.scope()->domains;
    }
    auto r = vhost::resolve(dir, a[0], options);
    options.visible_domains = nullptr;  // lookupd's answers below are the real ones, filtered
    if (!r.outside_scope.empty() && r.status == lookup_status::not_found) {
        r.status = lookup_status::found;
    }
    vhost::fields answers;
    for (auto map :
         {vhost::map_kind::aliases, vhost::map_kind::mailboxes, vhost::map_kind::senders}) {
        if (!r.outside_scope.empty() && map != vhost::map_kind::mailboxes) {
            answers.emplace_back(std::string(vhost::to_string(map)),
                                 "(not shown: the routing leaves your domains)");
            continue;
        }
        auto answer = vhost::answer(map, a[0], dir, options);
        if (ctx.scope() && answer.status == lookup_status::found) {
            answer.value = within_scope(answer.value, ctx.scope()->domains);
        }
        answers.emplace_back(std::string(vhost::to_string(map)), shown(answer));
    }
    // Where the domain's mail goes: its own transport, and for a backup domain whether the
    // address is one the backup accepts (docs/routing.md).
    if (!ctx.scope()) {
        answers.emplace_back(
            "relay_recipients",
            shown(vhost::answer(vhost::map_kind::relay_recipients, a[0], dir, options)));
        answers.emplace_back("transports",
                             shown(vhost::answer(vhost::map_kind::transports,
                                                 split_address(a[0]).domain, dir, options)));
    }
    if (ctx.json()) {
        auto destinations = nlohmann::ordered_json::array();
        for (const auto& d : r.destinations) {
            destinations.push_back({{"kind", vhost::to_string(d.kind)},
                                    {"address", d.address},
                                    {"maildir", d.maildir},
                                    {"command", d.command}});
        }
        auto lookupd = nlohmann::ordered_json::object();
        for (const auto& [map, answer] : answers) {
            lookupd[map] = answer;
        }
        print_json({{"address", a[0]},
                    {"result", r.status == lookup_status::found ? "deliverable" : "rejected"},
                    {"destinations", destinations},
                    {"outside_scope", r.outside_scope},
                    {"steps", r.trace},
                    {"lookupd", lookupd}});
        return r.status == lookup_status::found ? exit_ok : exit_failed;
    }
    std::printf("%s\n", a[0].c_str());
    for (const auto& step : r.trace) {
        std::printf("  %s\n", step.c_str());
    }
    if (r.status == lookup_status::found) {
        std::printf("result: deliverable to\n");
        for (const auto& other : r.outside_scope) {
            std::printf("  %-9s %s (outside your domains: not shown)\n", "other", other.c_str());
        }
        for (const auto& d : r.destinations) {
            std::string where =
                d.kind == vhost::destination_kind::mailbox   ? " (Maildir " + d.maildir + ")"
                : d.kind == vhost::destination_kind::command ? " (|" + d.command + ")"
                                                             : "";
            std::printf("  %-9s %s%s\n", std::string(vhost::to_string(d.kind)).c_str(),
                        d.address.c_str(), where.c_str());
        }
    } else {
        std::printf("result: rejected at RCPT (%s)\n",
                    r.rejected_by_domain ? ("domain refuses mail: " + r.reject_text).c_str()
                                         : r.reason.c_str());
    }
    std::printf("lookupd answers:\n");
    for (const auto& [map, value] : answers) {
        std::printf("  %-9s %s\n", map.c_str(), value.c_str());
    }
    if (!proto::tcp_table_answer_fits(answers.front().second)) {
        std::printf(
            "note: the aliases answer is too long for a tcp_table reply (4096 bytes"
            " encoded): Postfix can get it over socketmap only\n");
    }
    return r.status == lookup_status::found ? exit_ok : exit_failed;
}

}  // namespace

std::vector<command> resolve_commands() {
    return {{"resolve", "ADDRESS",
             "show how mail for ADDRESS is routed and what lookupd answers Postfix", 1, 1, resolve,
             "Exit status 0 when the address is deliverable, 1 when Postfix would reject it.\n"}};
}

}  // namespace vhostmail::admin
