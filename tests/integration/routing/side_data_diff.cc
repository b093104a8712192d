// SPDX-License-Identifier: Apache-2.0
// side_data_diff.cc - the data policyd and the milter keep per domain beside the routing copy
// (send limits; active DKIM keys and from_any_in_domain settings), followed change by change as
// the daemons follow it, against a fresh whole read of the same database. Driven by
// run_side_data_diff_test.py. Protocol: one command per stdin line, one reply line:
//   check   A (long-lived: whole at the first check, then only the changed domains) against
//           B (new for this check: whole)
//           -> "OK limits=N keys=N from_any=N statements=N" (statements: A's for this check)
//              or "FAIL first difference: A ... B ..."
// Usage: side_data_diff --socket PATH --user U --password P --database D
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "lib/db/pool.hh"

#include "daemons/milter/signing_store.hh"
#include "daemons/policyd/policy_store.hh"

namespace db = vhostmail::db;
namespace policy = vhostmail::policy;
using vhostmail::milter::signing_data;
using vhostmail::milter::signing_store;
using vhostmail::policyd::policy_store;

namespace {

std::string rules_text(const std::vector<policy::rate_rule>& rules) {
    std::string out;
    for (const auto& r : rules) {
        out += " " + std::to_string(static_cast<int>(r.what)) + "/" + std::to_string(r.window_s) +
               "s<=" + std::to_string(r.max);
    }
    return out;
}

// A table as sorted lines: two tables with the same lines answer every question alike.
std::vector<std::string> render(const policy::send_limit_table& t) {
    std::set<std::string> lines;
    for (const auto& [k, v] : t.address_rules) {
        lines.insert("address " + k + rules_text(v));
    }
    for (const auto& [k, v] : t.domain_each) {
        lines.insert("each " + k + rules_text(v));
    }
    for (const auto& [k, v] : t.domain_total) {
        lines.insert("total " + k + rules_text(v));
    }
    for (const auto& [k, v] : t.address_per_message) {
        lines.insert("address per message " + k + " " + std::to_string(v));
    }
    for (const auto& [k, v] : t.domain_per_message) {
        lines.insert("domain per message " + k + " " + std::to_string(v));
    }
    return {lines.begin(), lines.end()};
}

std::vector<std::string> render(const signing_data& d) {
    std::vector<std::string> lines;
    for (const auto& [domain, keys] : d.keys) {
        for (const auto& k : keys) {
            lines.push_back("key " + domain + " " + k.selector + " " +
                            std::to_string(static_cast<int>(k.alg)) + " " + k.file + " " +
                            (k.key ? "usable" : "unusable: " + k.error));
        }
    }
    for (const auto& domain : d.from_any_domains) {
        lines.push_back("from_any domain " + domain);
    }
    for (const auto& [address, on] : d.from_any_addresses) {
        lines.push_back("from_any address " + address + (on ? " on" : " off"));
    }
    return lines;
}

// "" when equal, else the first line that differs.
std::string first_difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        std::string x = i < a.size() ? a[i] : "(none)";
        std::string y = i < b.size() ? b[i] : "(none)";
        if (x != y) {
            return "A " + x + " | B " + y;
        }
    }
    return "";
}

}  // namespace

int main(int argc, char** argv) {
    db::settings s;
    for (int i = 1; i + 1 < argc; i += 2) {
        std::string k = argv[i], v = argv[i + 1];
        if (k == "--socket") {
            s.hosts = {"unix:" + v};
        } else if (k == "--user") {
            s.user = v;
        } else if (k == "--password") {
            s.password = v;
        } else if (k == "--database") {
            s.database = v;
        }
    }
    s.pool_size = 2;
    db::pool pool(s);
    policy_store followed_limits(pool, "a", {});
    signing_store followed_keys;
    std::string line;
    while (std::getline(std::cin, line)) {
        if (line != "check") {
            std::cout << "FAIL unknown command " << line << std::endl;
            continue;
        }
        auto lease = pool.acquire();
        if (!lease) {
            std::cout << "FAIL " << db::describe(lease.error()) << std::endl;
            continue;
        }
        db::connection& conn = **lease;
        uint64_t before = followed_limits.counters().statements;
        auto a_limits = followed_limits.load_limits(conn);
        uint64_t statements = followed_limits.counters().statements - before;
        auto a_keys = followed_keys.load(conn);
        policy_store fresh_limits(pool, "b", {});
        signing_store fresh_keys;
        auto b_limits = fresh_limits.load_limits(conn);
        auto b_keys = fresh_keys.load(conn);
        for (const auto* e : {&a_limits, &b_limits}) {
            if (!*e) {
                std::cout << "FAIL limits: " << db::describe(e->error()) << std::endl;
            }
        }
        if (!a_keys || !b_keys) {
            std::cout << "FAIL keys: " << db::describe((a_keys ? b_keys : a_keys).error())
                      << std::endl;
            continue;
        }
        if (!a_limits || !b_limits) {
            continue;
        }
        auto limits_a = render(*followed_limits.limits());
        auto keys_a = render(**a_keys);
        std::string diff = first_difference(limits_a, render(*fresh_limits.limits()));
        if (diff.empty()) {
            diff = first_difference(keys_a, render(**b_keys));
        }
        if (!diff.empty()) {
            std::cout << "FAIL first difference: " << diff << std::endl;
            continue;
        }
        std::cout << "OK limits=" << limits_a.size() << " keys=" << (**a_keys).keys.size()
                  << " from_any="
                  << (**a_keys).from_any_domains.size() + (**a_keys).from_any_addresses.size()
                  << " statements=" << statements << std::endl;
    }
    return 0;
}
