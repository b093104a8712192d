// SPDX-License-Identifier: Apache-2.0
#include "lib/dkim/from_header.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::dkim;
using kind = from_address::kind;

namespace {

std::string one(std::string_view value) {
    auto r = parse_from_header(value);
    INFO(std::string(value) << " -> " << r.error);
    REQUIRE(r.what == kind::one);
    return r.address;
}

kind what(std::string_view value) {
    return parse_from_header(value).what;
}

}  // namespace

TEST_CASE("the author address of common From fields") {
    CHECK(one(" joe@Example.ORG") == "joe@example.org");
    CHECK(one(" Joe User <joe@example.org>") == "joe@example.org");
    CHECK(one(" \"User, Joe\" <joe@example.org>") == "joe@example.org");
    CHECK(one(" =?UTF-8?B?SsO2cmc=?= <jorg@example.org>") == "jorg@example.org");
    CHECK(one(" joe@example.org (Joe User)") == "joe@example.org");
    CHECK(one(" Joe\r\n\t<joe@example.org>") == "joe@example.org");
    CHECK(one(" Joe\n <joe@example.org>") == "joe@example.org");
    CHECK(one(" <joe+tag@example.org>") == "joe+tag@example.org");
    CHECK(one(" J. Random <j.random@example.org>") == "j.random@example.org");
    CHECK(one(" \"joe\"@example.org") == "joe@example.org");
    CHECK(one(" \"joe smith\"@example.org") == "\"joe smith\"@example.org");
    CHECK(one(" (c (nested)) joe @ example.org") == "joe@example.org");
    CHECK(one(" J\xc3\xb6rg <j\xc3\xb6rg@example.org>") == "j\xc3\xb6rg@example.org");
}

TEST_CASE("an address shown in a display name or comment is not the author") {
    CHECK(one(" \"ceo@bank.example\" <joe@example.org>") == "joe@example.org");
    CHECK(one(" joe@example.org (ceo@bank.example)") == "joe@example.org");
    // Unquoted '@' in a display name is not allowed: refused rather than guessed.
    CHECK(what(" ceo@bank.example <joe@example.org>") == kind::malformed);
}

TEST_CASE("several mailboxes, none, or what the grammar does not allow") {
    CHECK(what(" a@example.org, b@example.org") == kind::several);
    CHECK(what(" \"x, y\" <a@example.org>, <b@example.org>") == kind::several);
    CHECK(what(" a@example.org,") == kind::several);
    CHECK(what("") == kind::empty);
    CHECK(what("  (only a comment) ") == kind::empty);
    CHECK(what(" undisclosed-recipients:;") == kind::malformed);
    CHECK(what(" Team: a@example.org;") == kind::malformed);
    CHECK(what(" <@relay.example:joe@example.org>") == kind::malformed);
    CHECK(what(" <joe@example.org") == kind::malformed);
    CHECK(what(" joe@example.org>") == kind::malformed);
    CHECK(what(" <>") == kind::malformed);
    CHECK(what(" joe") == kind::malformed);
    CHECK(what(" @example.org") == kind::malformed);
    CHECK(what(" joe@") == kind::malformed);
    CHECK(what(" joe@example..org") == kind::malformed);
    CHECK(what(" .joe@example.org") == kind::malformed);
    CHECK(what(" \"unterminated <joe@example.org>") == kind::malformed);
    CHECK(what(" (unterminated joe@example.org") == kind::malformed);
    CHECK(what(std::string(" joe@exa\0mple.org", 17)) == kind::malformed);
    CHECK(what(" <joe@example.org> <ceo@bank.example>") == kind::malformed);
    CHECK(what(" <<joe@example.org>>") == kind::malformed);
    CHECK(what(" " + std::string(max_from_value, 'a')) == kind::malformed);
}

TEST_CASE("domain literals are returned as written (never a hosted domain)") {
    CHECK(one(" joe@[192.0.2.1]") == "joe@[192.0.2.1]");
}
