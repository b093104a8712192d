// SPDX-License-Identifier: Apache-2.0
// cmd_srs.cc - vhostmail srs check ADDRESS: whether an address is a valid SRS address of ours
// and whom it stands for, or, for any other address, what lookupd's srs_forward makes of it as
// a sender. Uses lookupd's codec and map code (docs/srs.md).
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>

#include "lib/core/strings.hh"
#include "lib/srs/srs_config.hh"
#include "lib/vhost/lookup_maps.hh"
#include "lib/vhost/routing_settings.hh"
#include "lib/vhost/snapshot.hh"

#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

namespace {

int srs_check(context& ctx, const words& a) {
    auto load = srs::codec_from_config(ctx.cfg());
    if (!load.error.empty()) {
        return ctx.fail(load.error);
    }
    if (!load.loaded) {
        return ctx.fail("SRS is off: srs_domain is empty");
    }
    const std::string& address = a[0];
    const std::time_t now = std::time(nullptr);
    auto r = load.loaded->reverse(address, now);
    if (r.status != srs::reverse_status::not_srs) {
        const bool ok = r.status == srs::reverse_status::ok;
        if (ctx.json()) {
            print_json({{"address", address},
                        {"srs", true},
                        {"valid", ok},
                        {"status", srs::describe(r.status)},
                        {"original", r.address}});
        } else if (ok) {
            std::printf("%s: valid SRS address for <%s>\n", printable(address).c_str(),
                        printable(r.address).c_str());
        } else {
            std::printf("%s: %s; srs_reverse does not find it (Postfix refuses it at RCPT)\n",
                        printable(address).c_str(), std::string(srs::describe(r.status)).c_str());
        }
        return ok ? exit_ok : exit_failed;
    }
    // Not an SRS address: what srs_forward answers for it as a sender, which depends on
    // whether its domain is hosted here.
    auto snap = ctx.routing_snapshot();
    if (!snap) {
        return exit_failed;
    }
    vhost::snapshot_directory dir(snap);
    vhost::resolve_options options = vhost::routing_options(ctx.cfg());
    options.now = now;
    options.srs = load.loaded.get();
    auto f = vhost::answer(vhost::map_kind::srs_forward, address, dir, options);
    if (f.status == lookup_status::temp_fail) {
        return ctx.fail("temporary failure: " + f.reason);
    }
    const bool rewritten = f.status == lookup_status::found;
    if (ctx.json()) {
        print_json({{"address", address},
                    {"srs", false},
                    {"rewritten", rewritten ? nlohmann::ordered_json(f.value) : nullptr}});
    } else if (rewritten) {
        std::printf("%s: not an SRS address; as a sender it is rewritten to <%s>\n",
                    printable(address).c_str(), f.value.c_str());
    } else {
        std::printf(
            "%s: not an SRS address; as a sender it is not rewritten (a hosted domain, the SRS"
            " domain, or not an address)\n",
            printable(address).c_str());
    }
    return exit_ok;
}

}  // namespace

std::vector<command> srs_commands() {
    return {{"srs check", "ADDRESS",
             "is ADDRESS a valid SRS address, and for whom; else how it is rewritten as a sender",
             1, 1, srs_check,
             "Reads the srs_* parameters and srs_secret_file as lookupd does.\n"
             "Exit status 0 for a valid SRS address of ours or an address that is not one; 1\n"
             "for an SRS address lookupd would not accept (forged, damaged, expired, another\n"
             "domain's).\n"
             "--json: {\"address\", \"srs\": bool, then \"valid\", \"status\", \"original\" or\n"
             "\"rewritten\" (null when not rewritten)}.\n",
             true}};
}

}  // namespace vhostmail::admin
