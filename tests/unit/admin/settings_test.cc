// SPDX-License-Identifier: Apache-2.0
// The admin tool's values read as the configuration file's do (one parser per unit), and the
// one list of routing columns every routing query selects.
#include <catch2/catch.hpp>

#include "lib/vhost/admin_settings.hh"
#include "lib/vhost/record_rows.hh"

using namespace vhostmail;
using namespace vhostmail::vhost;

namespace {

// The bound value of one setting, or the error text.
std::variant<db::param, std::string> bound(const std::vector<column>& cols, const std::string& name,
                                           const std::string& value) {
    std::vector<std::string> names;
    std::vector<db::param> values;
    if (auto error = bind_settings(cols, {{name, value}}, names, values)) {
        return *error;
    }
    return values.at(0);
}

db::param n(uint64_t v) {
    return db::param{v};
}

}  // namespace

TEST_CASE("sizes, durations and counts read as in the configuration file") {
    CHECK(bound(domain_columns, "quota_bytes", "1T") ==
          std::variant<db::param, std::string>(n(1ULL << 40)));
    CHECK(bound(domain_columns, "quota_bytes", "500M") ==
          std::variant<db::param, std::string>(n(500ULL << 20)));
    CHECK(bound(domain_columns, "quota_bytes", "2048") ==
          std::variant<db::param, std::string>(n(2048)));
    CHECK(bound(vacation_columns, "interval_seconds", "7d") ==
          std::variant<db::param, std::string>(n(604800)));
    CHECK(bound(vacation_columns, "interval_seconds", "90") ==
          std::variant<db::param, std::string>(n(90)));
    CHECK(bound(vacation_columns, "interval_seconds", "2000ms") ==
          std::variant<db::param, std::string>(n(2)));
    CHECK(bound(domain_columns, "max_mailboxes", "12") ==
          std::variant<db::param, std::string>(n(12)));
    for (const char* bad : {"1P", "1.5G", "-1", "1 G", "G"}) {
        CAPTURE(bad);
        CHECK(std::holds_alternative<std::string>(bound(domain_columns, "quota_bytes", bad)));
    }
    // Stored in whole seconds: a fraction of a second is refused, not rounded.
    CHECK(
        std::holds_alternative<std::string>(bound(vacation_columns, "interval_seconds", "500ms")));
    CHECK(std::holds_alternative<std::string>(bound(domain_columns, "max_mailboxes", "-3")));
    CHECK(std::holds_alternative<std::string>(bound(domain_columns, "max_mailboxes", "3k")));
}

TEST_CASE("the routing column lists are the decoders' order, qualified on request") {
    CHECK(domain_select_list() ==
          "id, name, enabled, accepts_mail, reject_text, logins + 0, quota_bytes, quota_messages,"
          " max_message_size, fallback, filter_command, fullname_matching, role = 'backup',"
          " transport, relayhost");
    CHECK(address_select_list("a.") ==
          "a.id, a.local_part, a.enabled, a.mailbox, a.maildir, a.password IS NOT NULL AND"
          " a.password <> '', a.full_name, a.logins + 0, a.quota_bytes, a.quota_messages,"
          " a.transport");
}

TEST_CASE("domain routing settings: role, transport and relayhost are checked") {
    auto bound_text = [](const char* name, const char* value) -> std::string {
        std::vector<std::string> names;
        std::vector<vhostmail::db::param> values;
        auto bad = bind_settings(domain_columns, {{name, value}}, names, values);
        if (bad) {
            return "refused";
        }
        const auto* text = std::get_if<std::string>(&values.front());
        return text ? *text : "?";
    };
    CHECK(bound_text("role", "Backup") == "backup");
    CHECK(bound_text("role", "primary") == "primary");
    CHECK(bound_text("role", "secondary") == "refused");
    for (const char* good : {"smtp:[mail.example.net]:25", "smtp:mail.example.net", "relay:",
                             "lmtp:unix:/var/run/dovecot/lmtp", "lmtp:inet:[10.0.0.5]:24",
                             "smtp:[ipv6:2001:db8::1]:25", "smtp:[192.0.2.1]:smtp"}) {
        INFO(good);
        CHECK(bound_text("transport", good) == good);
    }
    for (const char* bad : {"smtp", "smtp:[mail.example.net", "smtp:mail example.net",
                            "smtp:a,b", "Smtp:x.example", "smtp:[x.example]:99999",
                            "lmtp:unix:../x", "lmtp:unix:/x/../y", "pipe:x y"}) {
        INFO(bad);
        CHECK(bound_text("transport", bad) == "refused");
    }
    CHECK(bound_text("transport", "none").empty());
    CHECK(bound_text("relayhost", "[smtp.example.net]:587") == "[smtp.example.net]:587");
    CHECK(bound_text("relayhost", "smtp.example.net") == "smtp.example.net");
    CHECK(bound_text("relayhost", "smtp:[x.example]") == "refused");
    CHECK(bound_text("relayhost", "[300.1.1.1]") == "refused");
    CHECK(bound_text("relayhost", "").empty());
}
