// SPDX-License-Identifier: Apache-2.0
#include "daemons/admin/postfix_check.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::admin;

namespace {

daemon_endpoints defaults() {
    return {{{"domains", "127.0.0.1:10041"},
             {"aliases", "127.0.0.1:10042"},
             {"mailboxes", "127.0.0.1:10043"},
             {"senders", "127.0.0.1:10044"}},
            {"inet:127.0.0.1:10040"},
            {"unix:/var/spool/postfix/private/vhostmail-auth"},
            {"unix:/var/spool/postfix/private/vhm-lmtp"},
            {},
            ""};
}

postfix_settings good() {
    postfix_settings pf;
    pf.main = {{"queue_directory", "/var/spool/postfix"},
               {"virtual_mailbox_domains", "tcp:127.0.0.1:10041"},
               {"virtual_alias_maps", "proxy:tcp:127.0.0.1:10042"},
               {"virtual_mailbox_maps", "socketmap:inet:127.0.0.1:10040:mailboxes"},
               {"smtpd_sender_login_maps", "tcp:127.0.0.1:10044"},
               {"mydestination", "localhost"},
               {"smtpd_relay_restrictions", "permit_mynetworks, reject_unauth_destination"},
               {"smtpd_sasl_type", "dovecot"},
               {"smtpd_sasl_path", "private/vhostmail-auth"},
               {"virtual_transport", "lmtp:unix:private/vhm-lmtp"}};
    pf.services = {{"smtp", "inet", "smtpd", {}},
                   {"submission",
                    "inet",
                    "smtpd",
                    {{"smtpd_sasl_auth_enable", "yes"},
                     {"smtpd_relay_restrictions", "permit_sasl_authenticated,reject"}}}};
    return pf;
}

std::vector<std::string> messages(const postfix_settings& pf) {
    std::vector<std::string> out;
    for (const auto& f : judge_postfix(pf, defaults(), {"blobber.org"})) {
        out.push_back((f.error ? "error: " : "warning: ") + f.message);
    }
    return out;
}

}  // namespace

TEST_CASE("postfix check: a correct setup has no findings") {
    CHECK(messages(good()).empty());
}

TEST_CASE("postfix check: absolute socket paths inside the queue directory match") {
    auto pf = good();
    pf.main["smtpd_sasl_path"] = "/private/vhostmail-auth";
    pf.main["virtual_transport"] = "lmtp:unix:/var/spool/postfix/private/vhm-lmtp";
    CHECK(messages(pf).empty());
}

TEST_CASE("postfix check: each mistake is one line") {
    struct mistake {
        const char* param;
        const char* value;
        const char* want;
    };

    const mistake cases[] = {
        {"virtual_mailbox_domains", "", "error: virtual_mailbox_domains does not use"},
        {"virtual_alias_maps", "tcp:127.0.0.1:10041",
         "error: virtual_alias_maps = "
         "tcp:127.0.0.1:10041 asks lookupd's domains"},
        {"virtual_alias_maps", "tcp:localhost:10042",
         "error: virtual_alias_maps = "
         "tcp:localhost:10042: no vhostmail-lookupd"},
        {"mydestination", "localhost, BLOBBER.org", "error: blobber.org is hosted"},
        {"smtpd_relay_restrictions", "permit", "error: neither smtpd_relay_restrictions"},
        {"virtual_transport", "lmtp:inet:127.0.0.1:24", "error: virtual_transport = lmtp:inet"},
        {"smtpd_sender_login_maps", "", "warning: smtpd_sender_login_maps does not use"},
    };
    for (const auto& c : cases) {
        CAPTURE(c.param, c.value);
        auto pf = good();
        pf.main[c.param] = c.value;
        auto got = messages(pf);
        REQUIRE(got.size() == 1);
        CHECK(got[0].starts_with(c.want));
    }
}

TEST_CASE("postfix check: submission needs AUTH and permit_sasl_authenticated first") {
    auto pf = good();
    pf.services[1].overrides["smtpd_sasl_auth_enable"] = "no";
    pf.services[1].overrides["smtpd_relay_restrictions"] = "reject_unauth_destination";
    auto got = messages(pf);
    REQUIRE(got.size() == 2);
    CHECK(got[0].starts_with("error: master.cf service submission accepts submissions without"));
    CHECK(
        got[1].starts_with("error: master.cf service submission has no"
                           " permit_sasl_authenticated before reject_unauth_destination"));
}

TEST_CASE("postfix check: the milter's wiring, once vhostmail-milter is installed") {
    auto ours = defaults();
    ours.milter = {"unix:/var/spool/postfix/private/vhostmail-milter"};
    auto judged = [&](const postfix_settings& pf) {
        std::vector<std::string> out;
        for (const auto& f : judge_postfix(pf, ours, {"blobber.org"})) {
            out.push_back((f.error ? "error: " : "warning: ") + f.message);
        }
        return out;
    };
    auto pf = good();
    pf.services[1].overrides["smtpd_milters"] = "unix:private/vhostmail-milter";
    pf.main["non_smtpd_milters"] = "unix:private/vhostmail-milter";
    pf.main["milter_default_action"] = "tempfail";
    CHECK(judged(pf).empty());

    auto missing = good();
    missing.main["milter_default_action"] = "tempfail";
    CHECK(
        judged(missing) ==
        std::vector<std::string>{
            "warning: master.cf service submission: smtpd_milters does not reach"
            " vhostmail-milter (milter_listen = unix:/var/spool/postfix/private/vhostmail-milter):"
            " logged-in users' From is not checked and their mail is not signed",
            "warning: non_smtpd_milters does not reach vhostmail-milter (milter_listen ="
            " unix:/var/spool/postfix/private/vhostmail-milter): mail injected with sendmail"
            " (vacation replies) is not signed"});

    auto absolute = pf;
    absolute.main["non_smtpd_milters"] = "unix:/var/spool/postfix/private/vhostmail-milter";
    absolute.main["milter_default_action"] = "accept";
    absolute.main["smtpd_milters"] = "{ unix:private/vhostmail-milter, default_action=accept }";
    auto found = judged(absolute);
    REQUIRE(found.size() == 3);
    CHECK(found[0].find("by its absolute path") != std::string::npos);
    CHECK(found[0].find("(unix:private/vhostmail-milter)") != std::string::npos);
    CHECK(found[1].find("mail arriving on port 25 then waits for it too") != std::string::npos);
    CHECK(found[2].find("milter_default_action = accept") != std::string::npos);

    auto other = pf;
    other.services[1].overrides["smtpd_milters"] = "inet:127.0.0.1:8891";  // OpenDKIM's
    CHECK(judged(other).size() == 1);
}

TEST_CASE("postfix check: SRS wiring") {
    auto ours = defaults();
    auto judged = [&](const postfix_settings& pf, const std::set<std::string>& hosted) {
        std::vector<std::string> out;
        for (const auto& f : judge_postfix(pf, ours, hosted)) {
            out.push_back((f.error ? "error: " : "warning: ") + f.message);
        }
        return out;
    };
    auto pf = good();
    pf.main["sender_canonical_maps"] = "socketmap:inet:127.0.0.1:10040:srs_forward";
    pf.main["sender_canonical_classes"] = "envelope_sender";
    pf.main["recipient_canonical_maps"] = "socketmap:inet:127.0.0.1:10040:srs_reverse";
    pf.main["recipient_canonical_classes"] = "envelope_recipient";
    SECTION("SRS off, maps wired: a warning") {
        auto m = judged(pf, {"blobber.org"});
        REQUIRE(m.size() == 1);
        CHECK(m[0].find("srs_domain is empty") != std::string::npos);
    }
    ours.srs_domain = "bounces.example.net";
    SECTION("all wired, SRS domain hosted: nothing") {
        CHECK(judged(pf, {"blobber.org", "bounces.example.net"}).empty());
    }
    SECTION("SRS domain not accepted: an error (bounces would be refused)") {
        auto m = judged(pf, {"blobber.org"});
        REQUIRE(m.size() == 1);
        CHECK(m[0].starts_with("error: srs_domain bounces.example.net is not a hosted domain"));
        pf.main["relay_domains"] = "Bounces.example.NET";
        CHECK(judged(pf, {"blobber.org"}).size() == 1);  // accepted, but forged ones bounce
    }
    SECTION("rewriting without the way back: an error; neither: a warning") {
        pf.main.erase("recipient_canonical_maps");
        auto m = judged(pf, {"bounces.example.net"});
        REQUIRE(m.size() == 1);
        CHECK(m[0].starts_with("error: recipient_canonical_maps does not use"));
        pf.main.erase("sender_canonical_maps");
        m = judged(pf, {"bounces.example.net"});
        REQUIRE(m.size() == 2);
        CHECK(m[0].starts_with("warning: sender_canonical_maps does not use"));
        CHECK(m[1].starts_with("warning: recipient_canonical_maps does not use"));
    }
    SECTION("header classes: warnings") {
        pf.main["sender_canonical_classes"] = "envelope_sender, header_sender";
        pf.main["recipient_canonical_classes"] = "envelope_recipient,header_recipient";
        auto m = judged(pf, {"bounces.example.net"});
        REQUIRE(m.size() == 2);
        CHECK(m[0].find("From and Sender headers") != std::string::npos);
        CHECK(m[1].find("To and Cc headers") != std::string::npos);
    }
}

TEST_CASE("postfix check: backup domains, transports and relay hosts") {
    auto pf = good();
    routing_in_use routing{{"backup.example"}, true, true};
    auto judged = [&]() {
        std::vector<std::string> out;
        for (const auto& f :
             judge_postfix(pf, defaults(), {"blobber.org", "backup.example"}, routing)) {
            out.push_back((f.error ? "error: " : "warning: ") + f.message);
        }
        return out;
    };
    auto m = judged();
    REQUIRE(m.size() == 4);
    CHECK(m[0].starts_with("error: relay_domains does not use"));
    CHECK(m[1].starts_with("error: relay_recipient_maps does not use"));
    CHECK(m[1].find("open backscatter source") != std::string::npos);
    CHECK(m[2].starts_with("warning: transport_maps does not use"));
    CHECK(m[3].starts_with("warning: sender_dependent_relayhost_maps does not use"));
    pf.main["relay_domains"] = "socketmap:inet:127.0.0.1:10040:relay_domains";
    pf.main["relay_recipient_maps"] = "socketmap:inet:127.0.0.1:10040:relay_recipients";
    pf.main["transport_maps"] = "socketmap:inet:127.0.0.1:10040:transports";
    pf.main["sender_dependent_relayhost_maps"] = "socketmap:inet:127.0.0.1:10040:relayhosts";
    CHECK(judged().empty());
    pf.main["relay_domains"] = "backup.example";  // listed by name: fine, the map is not needed
    CHECK(judged().empty());
}
