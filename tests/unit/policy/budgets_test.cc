// SPDX-License-Identifier: Apache-2.0
#include "lib/policy/budgets.hh"

#include <catch2/catch.hpp>

#include "lib/core/strings.hh"

using namespace vhostmail;
using namespace vhostmail::policy;

namespace {

const rate_rule per_hour{budget::messages, 3600, 100};
const rate_rule per_day{budget::messages, 86400, 500};
const rate_rule bytes_day{budget::bytes, 86400, 1 << 30};

}  // namespace

TEST_CASE("budgets: an address's rule overrides its domain's, which overrides the default") {
    default_budgets defaults{.login = {per_hour, per_day}};
    send_limit_table t;
    t.domain_each["example.com"] = {{budget::messages, 3600, 50}, bytes_day};
    t.address_rules["joe@example.com"] = {{budget::messages, 3600, 10}};
    auto s = budget_subjects(defaults, t, "joe@example.com", "", "192.0.2.1");
    REQUIRE(s.size() == 1);
    CHECK(s[0].key == "login:joe@example.com");
    CHECK(s[0].login);
    CHECK(s[0].rules == std::vector<rate_rule>{{budget::messages, 3600, 10}, per_day, bytes_day});
    // Another address of the domain gets the domain's rule; another domain the default.
    CHECK(budget_subjects(defaults, t, "ann@example.com", "", "")[0].rules ==
          std::vector<rate_rule>{{budget::messages, 3600, 50}, per_day, bytes_day});
    CHECK(budget_subjects(defaults, t, "bob@other.org", "", "")[0].rules ==
          std::vector<rate_rule>{per_hour, per_day});
}

TEST_CASE("budgets: a domain total is one more subject shared by its logins") {
    send_limit_table t;
    t.domain_total["example.com"] = {per_day};
    auto s = budget_subjects({}, t, "joe@example.com", "", "");
    REQUIRE(s.size() == 1);  // no login rules at all: only the total
    CHECK(s[0] == budget_subject{"domain:example.com", {per_day}, true});
}

TEST_CASE("budgets: client budgets for strangers only, sender budgets for everyone") {
    default_budgets d{.sender = {per_day}, .client = {per_hour}};
    auto anon = budget_subjects(d, {}, "", "Spam@Example.NET", "198.51.100.7");
    REQUIRE(anon.size() == 2);
    CHECK(anon[0] == budget_subject{"client:198.51.100.7", {per_hour}, false});
    CHECK(anon[1] == budget_subject{"sender:spam@example.net", {per_day}, false});
    auto logged_in = budget_subjects(d, {}, "joe@example.com", "joe@example.com", "198.51.100.7");
    REQUIRE(logged_in.size() == 1);
    CHECK(logged_in[0].key == "sender:joe@example.com");
    CHECK(budget_subjects(d, {}, "", "", "").empty());  // null sender, no client address
    CHECK(counter_key(anon[0], per_hour) == "client:198.51.100.7:messages");
}

TEST_CASE("budgets: case, +extension and IPv6 host variants share one budget") {
    default_budgets d{.login = {per_hour}, .sender = {per_day}, .client = {per_hour}};
    auto a = budget_subjects(d, {}, "", "Spam+1@Example.NET", "2001:db8:1:2::5");
    auto b = budget_subjects(d, {}, "", "spam+2@example.net", "2001:db8:1:2::6");
    REQUIRE(a.size() == 2);
    CHECK(a == b);
    CHECK(a[0].key == "client:2001:db8:1:2::/64");
    CHECK(a[1].key == "sender:spam@example.net");
    auto l1 = budget_subjects(d, {}, "Joe+x@Example.com", "", "");
    auto l2 = budget_subjects(d, {}, "joe@example.com", "", "");
    CHECK(l1 == l2);
    CHECK(l1[0].key == "login:joe@example.com");
}

TEST_CASE("budgets: keys that would not fit a column are hashed alike everywhere") {
    CHECK(storable_key("sender:joe@example.com", 400) == "sender:joe@example.com");
    std::string long_one = "sender:" + std::string(500, 'a') + "@example.com";
    auto k = storable_key(long_one, 400);
    CHECK(k.size() == 17);
    CHECK(k[0] == '#');
    CHECK(storable_key(long_one, 400) == k);
    CHECK(storable_key(long_one + "x", 400) != k);
    CHECK(storable_key("sender:\xff@example.com", 400)[0] == '#');
    CHECK(storable_key("sender:j\xc3\xb6rg@example.com", 400) == "sender:j\xc3\xb6rg@example.com");
    budget_subject s{"sender:" + std::string(500, 'b'), {}, false};
    CHECK(counter_key(s, {budget::messages, 60, 1}).size() == 17);
}

TEST_CASE("budgets: recipients per message") {
    send_limit_table t;
    t.domain_per_message["example.com"] = 20;
    t.address_per_message["boss@example.com"] = 200;
    CHECK(recipients_per_message(50, t, "boss@example.com") == 200);
    CHECK(recipients_per_message(50, t, "joe@example.com") == 20);
    CHECK(recipients_per_message(50, t, "joe@other.org") == 50);
    CHECK(recipients_per_message(0, t, "") == 0);
}
