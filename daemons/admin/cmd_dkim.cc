// SPDX-License-Identifier: Apache-2.0
// cmd_dkim.cc - vhostmail dkim keygen|list|show|activate|retire: DKIM keys for vhostmail-milter.
// The private key goes to a file only root and the milter's group may read; the database gets
// where it is and the public key, which is all a domain administrator may see (their domains'
// DNS records).
#include <ctime>
#include <filesystem>
#include <grp.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/dkim/signer.hh"

#include "daemons/admin/admin.hh"
#include "daemons/admin/file_writer.hh"

namespace vhostmail::admin {

namespace {

namespace fs = std::filesystem;

// A zone-file TXT line: character-strings hold at most 255 octets (RFC 1035 3.3).
std::string zone_line(const std::string& name, const std::string& record) {
    std::string line = name + ". IN TXT";
    for (size_t i = 0; i < record.size(); i += 255) {
        line += " \"" + record.substr(i, 255) + "\"";
    }
    return line;
}

std::string today() {
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y%m%d", &tm);
    return buf;
}

struct keygen_options {
    std::string domain, selector;
    dkim::algorithm alg = dkim::algorithm::rsa_sha256;
    int bits = 2048;
};

std::optional<keygen_options> parse_keygen(const words& a, const context& ctx) {
    keygen_options o;
    o.domain = a[0];
    for (size_t i = 1; i < a.size(); ++i) {
        bool has_value = i + 1 < a.size();
        if (a[i] == "--selector" && has_value) {
            o.selector = ascii_lower(a[++i]);
        } else if (a[i] == "--algorithm" && has_value) {
            auto alg = dkim::parse_algorithm(a[++i]);
            if (!alg) {
                ctx.fail("--algorithm must be rsa or ed25519");
                return std::nullopt;
            }
            o.alg = *alg;
        } else if (a[i] == "--bits" && has_value) {
            o.bits = std::atoi(a[++i].c_str());
            if (o.bits < 2048 || o.bits > 4096) {
                ctx.fail(
                    "--bits must be 2048 to 4096 (RFC 8301 asks for at least 1024;"
                    " receivers expect 2048)");
                return std::nullopt;
            }
        } else {
            ctx.fail("unknown option " + printable(a[i]));
            return std::nullopt;
        }
    }
    auto domain = normalize_domain(o.domain);
    if (!domain) {
        ctx.fail("invalid domain name \"" + printable(o.domain) + "\"");
        return std::nullopt;
    }
    o.domain = *domain;
    if (o.selector.empty()) {
        o.selector = std::string(o.alg == dkim::algorithm::rsa_sha256 ? "rsa" : "ed") + today();
    }
    // A selector names a DNS label and a file: dot-separated LDH labels only.
    if (!valid_domain(o.selector) || o.selector.size() > 63) {
        ctx.fail("invalid selector \"" + printable(o.selector) + "\"");
        return std::nullopt;
    }
    return o;
}

// The key directory, root:GROUP 0750, made when missing.
bool key_directory(const fs::path& dir, gid_t gid, const context& ctx) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) {
        if (!fs::create_directories(dir, ec) || ::chown(dir.c_str(), 0, gid) != 0 ||
            ::chmod(dir.c_str(), 0750) != 0) {
            ctx.fail("cannot make " + dir.string());
            return false;
        }
    }
    return true;
}

int keygen(context& ctx, const words& a) {
    auto o = parse_keygen(a, ctx);
    if (!o) {
        return exit_usage;
    }
    std::string group = ctx.cfg().get_string("admin_dkim_key_group");
    struct group* g = ::getgrnam(group.c_str());
    if (g == nullptr) {
        return ctx.fail("no group " + group +
                        " (admin_dkim_key_group): the milter could not read"
                        " the key");
    }
    fs::path dir = ctx.cfg().get_string("admin_dkim_key_directory");
    fs::path file = dir / (o->domain + "." + o->selector + ".key");
    std::error_code ec;
    if (fs::exists(file, ec)) {
        return ctx.fail(file.string() + " exists already: choose another --selector");
    }
    auto generated = dkim::generate_key(o->alg, o->bits);
    if (!generated.key) {
        return ctx.fail(generated.error);
    }
    std::string error;
    if (!key_directory(dir, g->gr_gid, ctx) ||
        !write_file(file, generated.pem, 0640, 0, g->gr_gid, error)) {
        return error.empty() ? exit_failed : ctx.fail(error);
    }
    vhost::dkim_key_row row{.domain = o->domain,
                            .selector = o->selector,
                            .algorithm = std::string(dkim::algorithm_name(o->alg)),
                            .key_file = file.string(),
                            .public_key = generated.key->public_key_base64()};
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto added = store.add_dkim_key(row);
        if (!added) {
            fs::remove(file, ec);
            return ctx.fail(added.failure());
        }
        std::string record = dkim::dns_record(o->alg, row.public_key);
        if (ctx.json()) {
            print_json({{"domain", row.domain},
                        {"selector", row.selector},
                        {"algorithm", row.algorithm},
                        {"key_file", row.key_file},
                        {"state", "new"},
                        {"name", row.selector + "._domainkey." + row.domain},
                        {"record", record}});
            return exit_ok;
        }
        std::printf("generated %s key %s for %s in %s (state new)\n", row.algorithm.c_str(),
                    row.selector.c_str(), row.domain.c_str(), row.key_file.c_str());
        std::printf("publish (vhostmail dkim show %s lists the domain aliases' names too):\n%s\n",
                    row.domain.c_str(),
                    zone_line(row.selector + "._domainkey." + row.domain, record).c_str());
        std::printf("then: vhostmail dkim activate %s %s\n", row.domain.c_str(),
                    row.selector.c_str());
        return exit_ok;
    });
}

int list_keys(context& ctx, const words& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto keys = store.dkim_keys(a.empty() ? "" : a[0]);
        if (!keys) {
            return ctx.fail(keys.failure());
        }
        vhost::table t{
            {"domain", "selector", "algorithm", "state", "created", "activated", "retired"}, {}};
        for (const auto& k : *keys) {
            t.rows.push_back({k.domain, k.selector, k.algorithm, k.state, k.created_at,
                              k.activated_at, k.retired_at});
        }
        print_table(ctx, t);
        return exit_ok;
    });
}

// The records to publish: every key not retired (a new key is published before it signs),
// under the domain's name and each alias's.
int show_records(context& ctx, const words& a) {
    return with_store(ctx, [&](vhost::admin_store& store) {
        auto keys = store.dkim_keys(a[0]);
        if (!keys) {
            return ctx.fail(keys.failure());
        }
        auto names = store.dkim_names(a[0]);
        if (!names) {
            return ctx.fail(names.failure());
        }
        nlohmann::ordered_json records = nlohmann::ordered_json::array();
        for (const auto& k : *keys) {
            if (k.state == "retired") {
                continue;
            }
            auto alg = dkim::parse_algorithm(k.algorithm);
            std::string record =
                dkim::dns_record(alg.value_or(dkim::algorithm::rsa_sha256), k.public_key);
            for (const auto& name : *names) {
                std::string dns_name = k.selector + "._domainkey." + name;
                if (ctx.json()) {
                    records.push_back({{"name", dns_name},
                                       {"selector", k.selector},
                                       {"algorithm", k.algorithm},
                                       {"state", k.state},
                                       {"record", record}});
                } else {
                    std::printf("; %s %s (%s)\n%s\n", k.algorithm.c_str(), k.selector.c_str(),
                                k.state.c_str(), zone_line(dns_name, record).c_str());
                }
            }
        }
        if (ctx.json()) {
            print_json(records);
        } else if (records.empty() && keys->empty()) {
            std::printf("; no DKIM keys for %s: vhostmail dkim keygen %s\n", a[0].c_str(),
                        a[0].c_str());
        }
        return exit_ok;
    });
}

}  // namespace

std::vector<command> dkim_commands() {
    using vhost::admin_store;
    return {
        {"dkim keygen", "DOMAIN [--selector S] [--algorithm rsa|ed25519] [--bits N]",
         "make a DKIM key (state new: publish its record, then activate it)", 1, 7, keygen,
         "the private key is written to admin_dkim_key_directory/DOMAIN.SELECTOR.key, root:\n"
         "  admin_dkim_key_group, mode 0640; default selector: rsaYYYYMMDD or edYYYYMMDD\n",
         true},
        {"dkim list", "[DOMAIN]", "list DKIM keys and their state", 0, 1, list_keys, ""},
        {"dkim show", "DOMAIN", "print the DNS TXT records to publish for the domain's keys", 1, 1,
         show_records, ""},
        {"dkim activate", "DOMAIN SELECTOR",
         "sign with this key from now on (retires the active key of its algorithm)", 2, 2,
         change(&admin_store::activate_dkim_key,
                [](const words& a) { return "DKIM key " + a[1] + " of " + a[0] + " is active"; }),
         "", true},
        {"dkim retire", "DOMAIN SELECTOR", "stop signing with this key", 2, 2,
         change(&admin_store::retire_dkim_key,
                [](const words& a) { return "DKIM key " + a[1] + " of " + a[0] + " is retired"; }),
         "", true},
    };
}

}  // namespace vhostmail::admin
