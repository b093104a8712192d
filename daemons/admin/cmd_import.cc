// SPDX-License-Identifier: Apache-2.0
// cmd_import.cc - vhostmail import aliases FILE: an /etc/aliases or Postfix virtual(5) file.
// Everything is imported in one transaction or nothing is; --dry-run shows the plan and rolls
// back. Existing addresses keep what they have and gain the file's forwardings.
#include <cstdio>
#include <fstream>
#include <iterator>

#include "daemons/admin/admin.hh"
#include "lib/core/address.hh"
#include "lib/proto/aliases_file.hh"

namespace vhostmail::admin {

namespace {

struct import_options {
    std::string file;
    std::string domain;  // for bare names
    proto::alias_format format = proto::alias_format::aliases;
    bool dry_run = false;
};

// A bare local part gets --domain; nullopt when there is none to give.
std::optional<std::string> qualify(const std::string& name, const std::string& domain) {
    if (name.find('@') != std::string::npos) {
        return name;
    }
    if (domain.empty()) {
        return std::nullopt;
    }
    return name + "@" + domain;
}

vhost::admin_result<vhost::done> import_entry(vhost::admin_store& store,
                                              const proto::alias_entry& e,
                                              const import_options& o,
                                              std::vector<std::string>& plan) {
    auto at = [&](const std::string& m) {
        return vhost::admin_failure{"line " + std::to_string(e.line) + ": " + m};
    };
    if (e.key.starts_with("@")) {
        if (e.destinations.size() != 1) {
            return at("a catch-all (" + e.key + ") takes exactly one destination");
        }
        auto r = store.set_domain(e.key.substr(1), {{"fallback", e.destinations.front()}});
        if (!r) {
            return at(r.failure().message);
        }
        plan.push_back("set the catch-all of " + e.key + " to " + e.destinations.front());
        return vhost::done{};
    }
    auto key = qualify(e.key, o.domain);
    if (!key) {
        return at("\"" + e.key + "\" has no domain: give --domain");
    }
    auto created = store.ensure_address(*key);
    if (!created) {
        return at(created.failure().message);
    }
    if (*created) {
        plan.push_back("create " + *key);
    }
    for (const auto& d : e.destinations) {
        auto dest = qualify(d, o.domain);
        if (!dest) {
            return at("\"" + d + "\" has no domain: give --domain");
        }
        auto r = store.add_forward(*key, *dest);
        if (!r && !r.failure().already) {
            return at(r.failure().message);
        }
        if (r) {
            plan.push_back("forward " + *key + " -> " + *dest);
        }
    }
    return vhost::done{};
}

int import_aliases(context& ctx, const words& a) {
    import_options o;
    o.file = a[0];
    for (size_t i = 1; i < a.size(); ++i) {
        if (a[i] == "--domain" && i + 1 < a.size()) {
            o.domain = a[++i];
        } else if (a[i] == "--format" && i + 1 < a.size() &&
                   (a[i + 1] == "aliases" || a[i + 1] == "virtual")) {
            o.format = a[++i] == "virtual" ? proto::alias_format::virtual_table
                                           : proto::alias_format::aliases;
        } else if (a[i] == "--dry-run") {
            o.dry_run = true;
        } else {
            std::fputs("usage: vhostmail import aliases FILE [--domain DOMAIN]"
                       " [--format aliases|virtual] [--dry-run]\n",
                       stderr);
            return exit_usage;
        }
    }
    if (!o.domain.empty() && !normalize_domain(o.domain)) {
        return ctx.fail("invalid domain name \"" + o.domain + "\"");
    }
    std::ifstream in(o.file, std::ios::binary);
    if (!in) {
        return ctx.fail("cannot read " + o.file);
    }
    std::string text((std::istreambuf_iterator<char>(in)), {});
    auto parsed = proto::parse_alias_file(text, o.format);
    if (!parsed.errors.empty()) {
        for (const auto& e : parsed.errors) {
            std::fprintf(stderr, "vhostmail: %s: %s\n", o.file.c_str(), e.c_str());
        }
        return ctx.fail("nothing imported: fix the lines above first");
    }
    std::vector<std::string> plan;
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto r = store.batch(
            [&]() -> vhost::admin_result<vhost::done> {
                for (const auto& e : parsed.entries) {
                    if (auto one = import_entry(store, e, o, plan); !one) {
                        return one;
                    }
                }
                return vhost::done{};
            },
            !o.dry_run);
        if (!r) {
            return ctx.fail(o.file + ": " + r.failure().message + " (nothing imported)");
        }
        for (const auto& step : plan) {
            std::printf("%s%s\n", o.dry_run ? "would " : "", step.c_str());
        }
        return print_done(ctx, (o.dry_run ? "dry run: nothing changed, " : "imported: ") +
                                   std::to_string(plan.size()) + " change(s)");
    });
}

}  // namespace

std::vector<command> import_commands() {
    return {{"import aliases", "FILE [--domain DOMAIN] [--format aliases|virtual] [--dry-run]",
             "import an /etc/aliases or Postfix virtual(5) file (all or nothing)", 1, 6,
             import_aliases,
             "Names without a domain get --domain. \"@domain value\" lines (virtual format) set\n"
             "that domain's catch-all. Commands, files and :include: are refused.\n"}};
}

}  // namespace vhostmail::admin
