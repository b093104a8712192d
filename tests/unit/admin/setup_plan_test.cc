// SPDX-License-Identifier: Apache-2.0
#include "daemons/admin/setup_plan.hh"

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>

using namespace vhostmail::admin;

namespace {

std::string snippet(const std::string& name) {
    std::ifstream in(std::string(VHOSTMAIL_SOURCE_DIR) + "/postfix-snippets/" + name);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("setup: main.cf values compare by words, not by blanks and commas") {
    CHECK(same_postfix_value("permit_mynetworks,  reject_unauth_destination",
                             "permit_mynetworks reject_unauth_destination"));
    CHECK(same_postfix_value(" tcp:127.0.0.1:10041 ", "tcp:127.0.0.1:10041"));
    CHECK_FALSE(same_postfix_value("tcp:127.0.0.1:10041", "tcp:127.0.0.1:10042"));
    CHECK_FALSE(same_postfix_value("a b", "b a"));
}

TEST_CASE("setup: a parameter main.cf does not set is set; the same value is left alone") {
    assignments wanted{{"virtual_mailbox_domains", "tcp:127.0.0.1:10041"},
                       {"smtpd_sasl_type", "dovecot"}};
    auto plan = plan_main_cf({{"smtpd_sasl_type", "dovecot"}}, wanted, {}, false);
    REQUIRE(plan.changes.size() == 1);
    CHECK(plan.changes[0].name == "virtual_mailbox_domains");
    CHECK(plan.changes[0].from.empty());
    CHECK(plan.conflicts.empty());
}

TEST_CASE("setup: an admin's own value is a conflict, replaced only with force") {
    assignments wanted{{"virtual_mailbox_maps", "tcp:127.0.0.1:10043"}};
    std::map<std::string, std::string> current{{"virtual_mailbox_maps", "hash:/etc/postfix/vmb"}};
    auto refused = plan_main_cf(current, wanted, {}, false);
    CHECK(refused.changes.empty());
    REQUIRE(refused.conflicts.size() == 1);
    CHECK(refused.conflicts[0].find("hash:/etc/postfix/vmb") != std::string::npos);
    auto forced = plan_main_cf(current, wanted, {}, true);
    REQUIRE(forced.changes.size() == 1);
    CHECK(forced.changes[0].from == "hash:/etc/postfix/vmb");
}

TEST_CASE("setup: what an earlier run wrote may be changed again without force") {
    assignments wanted{{"virtual_transport", "lmtp:unix:private/vhm-lmtp"}};
    std::map<std::string, std::string> current{{"virtual_transport", "lmtp:unix:private/old"}};
    std::map<std::string, std::string> applied{{"virtual_transport", "lmtp:unix:private/old"}};
    auto plan = plan_main_cf(current, wanted, applied, false);
    CHECK(plan.conflicts.empty());
    REQUIRE(plan.changes.size() == 1);
    // ...but not once the admin changed it after that run.
    current["virtual_transport"] = "virtual";
    CHECK(plan_main_cf(current, wanted, applied, false).conflicts.size() == 1);
}

TEST_CASE("setup: the shipped snippets parse") {
    for (const char* name :
         {"main.cf.lookup", "main.cf.sasl", "main.cf.policy", "master.cf.lmtp"}) {
        std::string error;
        auto a = main_cf_assignments(snippet(name), name, error);
        INFO(name << ": " << error);
        REQUIRE(a);
        CHECK_FALSE(a->empty());
    }
    std::string error;
    auto policy = main_cf_assignments(snippet("main.cf.policy"), "main.cf.policy", error);
    REQUIRE(policy);
    CHECK(same_postfix_value(policy->front().second,
                             "permit_mynetworks, reject_unauth_destination, check_policy_service"
                             " unix:private/vhostmail-policy"));
    auto service = parse_master_service(snippet("master.cf.submission"), error);
    INFO(error);
    REQUIRE(service);
    CHECK(service->name == "submission");
    CHECK(service->type == "inet");
    CHECK(service->line == "submission inet n - y - - smtpd");
    REQUIRE(service->overrides.size() == 8);
    CHECK(service->overrides[0] ==
          std::pair<std::string, std::string>{"syslog_name", "postfix/submission"});
    CHECK(service->overrides[6].first == "smtpd_recipient_restrictions");
    CHECK(service->overrides[6].second.starts_with("check_policy_service unix:private/"));
}

TEST_CASE("setup: a master.cf snippet that is not one service is refused") {
    std::string error;
    CHECK_FALSE(parse_master_service("  -o a=b\n", error));
    CHECK_FALSE(parse_master_service("smtp inet n - y - - smtpd\n  -x a\n", error));
    CHECK_FALSE(parse_master_service("smtp inet n - y\n", error));
    CHECK_FALSE(parse_master_service("# only a comment\n", error));
}

TEST_CASE("setup: grants are least privilege and name only setup's own tables") {
    bool lookupd_writes = false;
    for (const auto& account : db_accounts()) {
        for (const auto& g : account.grants) {
            CHECK(g.table.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") == std::string::npos);
            if (account.daemon == "lookupd") {
                lookupd_writes =
                    lookupd_writes || g.privileges != std::vector<std::string>{"SELECT"};
            }
        }
    }
    CHECK_FALSE(lookupd_writes);
    CHECK(grant_statement({{"UPDATE"}, "addresses", "password"}, "vhostmail", "vhostmail-authd") ==
          "GRANT UPDATE (`password`) ON `vhostmail`.`addresses` TO 'vhostmail-authd'@'localhost'");
    CHECK(grant_statement({{"SELECT", "INSERT"}, "greylist", ""}, "vm", "vhostmail-policyd",
                          "10.0.0.%") ==
          "GRANT SELECT, INSERT ON `vm`.`greylist` TO 'vhostmail-policyd'@'10.0.0.%'");
    CHECK(valid_account_host("mail1.example.net"));
    CHECK(valid_account_host("10.0.0.%"));
    CHECK_FALSE(valid_account_host("x' OR '1"));
    CHECK_FALSE(valid_account_host(""));
}
