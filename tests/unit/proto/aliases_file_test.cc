// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/aliases_file.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::proto;

TEST_CASE("aliases(5) files parse with continuations and comments") {
    auto f = parse_alias_file(
        "# comment\n"
        "Postmaster: root\n"
        "team: anna, bert@example.org,\n"
        "  carl\r\n"
        "\n"
        "sales:\tdan@example.net\n",
        alias_format::aliases);
    REQUIRE(f.errors.empty());
    REQUIRE(f.entries.size() == 3);
    CHECK(f.entries[0].key == "postmaster");
    CHECK(f.entries[0].destinations == std::vector<std::string>{"root"});
    CHECK(f.entries[1].destinations ==
          std::vector<std::string>{"anna", "bert@example.org", "carl"});
    CHECK(f.entries[1].line == 3);
    CHECK(f.entries[2].line == 6);
}

TEST_CASE("virtual(5) tables parse patterns and lists") {
    auto f = parse_alias_file(
        "info@example.org  joe@example.org, ann@example.org\n"
        "@example.net      @example.org\n"
        "bare              joe\n",
        alias_format::virtual_table);
    REQUIRE(f.errors.empty());
    REQUIRE(f.entries.size() == 3);
    CHECK(f.entries[1].key == "@example.net");
    CHECK(f.entries[1].destinations == std::vector<std::string>{"@example.org"});
}

TEST_CASE("what cannot be imported is an error with its line") {
    auto f = parse_alias_file(
        "a: |/usr/bin/prog\n"
        "b: /var/mail/b\n"
        "c: :include:/etc/list\n"
        "d:\n"
        "no colon here\n"
        "\"quoted name\": x\n"
        "ok: x@example.org\n",
        alias_format::aliases);
    CHECK(f.entries.size() == 1);
    REQUIRE(f.errors.size() == 6);
    CHECK(f.errors[0].starts_with("line 1: "));
    CHECK(f.errors[3] == "line 4: no value for d");
    CHECK(f.errors[4] == "line 5: expected \"name: value, ...\"");
    auto big = parse_alias_file(std::string(alias_file_max_size + 1, 'x'), alias_format::aliases);
    CHECK(big.errors.size() == 1);
    auto nul = parse_alias_file(std::string("a: b\0c\n", 7), alias_format::aliases);
    CHECK(nul.entries.empty());
}
