// SPDX-License-Identifier: Apache-2.0
// settings_test.cc - host list syntax and timeout rounding.
#include "lib/db/settings.hh"

#include <catch2/catch.hpp>

#include "lib/db/pool.hh"

using namespace vhostmail::db;
using namespace std::chrono_literals;

namespace {

struct host_case {
    const char* text;
    bool ok;
    const char* host;
    unsigned port;
    const char* socket;
};

}  // namespace

TEST_CASE("host entries parse like Postfix dict_mysql hosts") {
    auto tc = GENERATE(values<host_case>({
        {"db.example", true, "db.example", 0, ""},
        {"db.example:3307", true, "db.example", 3307, ""},
        {"inet:db.example:3307", true, "db.example", 3307, ""},
        {"inet:10.0.0.1", true, "10.0.0.1", 0, ""},
        {"[::1]:3306", true, "::1", 3306, ""},
        {"[::1]", true, "::1", 0, ""},
        {"unix:/run/mysqld/mysqld.sock", true, "", 0, "/run/mysqld/mysqld.sock"},
        {"/run/mysqld/mysqld.sock", true, "", 0, "/run/mysqld/mysqld.sock"},
        {"", false, "", 0, ""},
        {"unix:", false, "", 0, ""},
        {"inet:", false, "", 0, ""},
        {"db:", false, "", 0, ""},
        {"db:0", false, "", 0, ""},
        {"db:65536", false, "", 0, ""},
        {"db:33x", false, "", 0, ""},
        {":3306", false, "", 0, ""},
        {"::1", false, "", 0, ""},
        {"[::1", false, "", 0, ""},
        {"[]:3306", false, "", 0, ""},
        {"[::1]x", false, "", 0, ""},
    }));
    CAPTURE(tc.text);
    auto h = parse_host(tc.text);
    REQUIRE(h.has_value() == tc.ok);
    if (h) {
        CHECK(h->host == tc.host);
        CHECK(h->port == tc.port);
        CHECK(h->socket == tc.socket);
        CHECK(h->text == tc.text);
    }
}

TEST_CASE("timeouts become whole seconds, rounded up, at least one") {
    CHECK(timeout_seconds(0ms) == 1);
    CHECK(timeout_seconds(1ms) == 1);
    CHECK(timeout_seconds(1000ms) == 1);
    CHECK(timeout_seconds(1001ms) == 2);
    CHECK(timeout_seconds(5000ms) == 5);
    CHECK(timeout_seconds(-5ms) == 1);
}

TEST_CASE("pool settings are checked") {
    settings s;
    CHECK(check_settings(s).empty());
    s.hosts = {"unix:/tmp/x.sock", "db:3306"};
    CHECK(check_settings(s).empty());
    s.hosts.push_back("db:x");
    CHECK(check_settings(s) == "invalid database host \"db:x\"");
    CHECK_THROWS_AS(pool(s), std::invalid_argument);
    s.hosts.pop_back();
    s.pool_size = 0;
    CHECK_FALSE(check_settings(s).empty());
}
