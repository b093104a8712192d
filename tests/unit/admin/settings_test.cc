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
          " max_message_size, fallback, filter_command, fullname_matching");
    CHECK(address_select_list("a.") ==
          "a.id, a.local_part, a.enabled, a.mailbox, a.maildir, a.password IS NOT NULL AND"
          " a.password <> '', a.full_name, a.logins + 0, a.quota_bytes, a.quota_messages");
}
