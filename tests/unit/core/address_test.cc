// SPDX-License-Identifier: Apache-2.0
#include <catch2/catch.hpp>

#include "lib/core/address.hh"

using namespace vhostmail;

TEST_CASE("domains are validated and lower-cased") {
    CHECK(normalize_domain("Blobber.ORG") == "blobber.org");
    CHECK(normalize_domain("localhost") == "localhost");
    CHECK(normalize_domain("a-b.example") == "a-b.example");
    CHECK_FALSE(normalize_domain(""));
    CHECK_FALSE(normalize_domain("-a.example"));
    CHECK_FALSE(normalize_domain("a-.example"));
    CHECK_FALSE(normalize_domain("a..example"));
    CHECK_FALSE(normalize_domain("example."));
    CHECK_FALSE(normalize_domain(".example"));
    CHECK_FALSE(normalize_domain("exa mple.org"));
    CHECK_FALSE(normalize_domain("ex_ample.org"));
    CHECK_FALSE(normalize_domain(std::string(64, 'a') + ".org"));
    CHECK(normalize_domain(std::string(63, 'a') + ".org"));
    std::string long_domain;
    for (int i = 0; i < 64; ++i) {
        long_domain += "abc.";
    }
    long_domain += "org";
    CHECK_FALSE(normalize_domain(long_domain));
}

TEST_CASE("addresses split at the last @ and fold case") {
    auto a = parse_address("John.Doe@Example.COM");
    REQUIRE(a);
    CHECK(a->local == "john.doe");
    CHECK(a->domain == "example.com");
    auto quoted = parse_address("a@b@example.com");
    REQUIRE(quoted);
    CHECK(quoted->local == "a@b");
    CHECK_FALSE(parse_address("nodomain"));
    CHECK_FALSE(parse_address("@example.com"));
    CHECK_FALSE(parse_address("user@"));
    CHECK_FALSE(parse_address(std::string(65, 'x') + "@example.com"));
    CHECK(parse_address(std::string(64, 'x') + "@example.com"));
    CHECK_FALSE(parse_address(std::string("a\nb@example.com")));
    CHECK_FALSE(parse_address(std::string("a\0b@example.com", 15)));
    CHECK(parse_address("j\xc3\xb6rg@example.com"));  // UTF-8 local part (SMTPUTF8)
    auto at_only = split_address("@lala.com");
    CHECK(at_only.has_at);
    CHECK(at_only.local.empty());
    CHECK(at_only.domain == "lala.com");
}

TEST_CASE("recipient delimiter extensions split like Postfix") {
    auto s = split_extension("joe+lists", "+");
    REQUIRE(s);
    CHECK(s->base == "joe");
    CHECK(s->extension == "lists");
    CHECK(s->delimiter == '+');
    auto multi = split_extension("joe-x+y", "+-");
    REQUIRE(multi);
    CHECK(multi->base == "joe");
    CHECK(multi->extension == "x+y");
    auto empty_ext = split_extension("joe+", "+");
    REQUIRE(empty_ext);
    CHECK(empty_ext->extension.empty());
    CHECK_FALSE(split_extension("joe", "+"));
    CHECK_FALSE(split_extension("+joe", "+"));
    CHECK_FALSE(split_extension("joe+x", ""));
    CHECK_FALSE(split_extension("postmaster", "+"));
    CHECK_FALSE(split_extension("MAILER-DAEMON", "-"));
    CHECK_FALSE(split_extension("owner-list", "-"));
    CHECK_FALSE(split_extension("list-request", "-"));
    CHECK(split_extension("owner+x", "+"));
}
