// SPDX-License-Identifier: Apache-2.0
#include "lib/core/strings.hh"

#include <string>

#include <catch2/catch.hpp>

using namespace vhostmail;
using namespace std::string_literals;

TEST_CASE("strings: UTF-8 validity as RFC 3629 defines it") {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8("plain ascii"));
    CHECK(valid_utf8("J\xc3\xb6rg \xe2\x82\xac \xf0\x9f\x98\x80"));
    CHECK(!valid_utf8("\xff"));
    CHECK(!valid_utf8("\xc3"));              // cut short
    CHECK(!valid_utf8("\xc0\xaf"));          // overlong
    CHECK(!valid_utf8("\xed\xa0\x80"));      // a surrogate
    CHECK(!valid_utf8("\xf4\x90\x80\x80"));  // above U+10FFFF
    CHECK(valid_utf8("a\0b"s));              // NUL is valid UTF-8 (callers refuse it themselves)
    CHECK(utf8_sequence_length("\xe2\x82\xac", 0) == 3);
}

TEST_CASE("strings: the stable hash is FNV-1a 64") {
    CHECK(stable_hash("") == 14695981039346656037ull);
    CHECK(stable_hash("a") == 0xaf63dc4c8601ec8cull);
    CHECK(stable_hash("foobar") == 0x85944171f73967e8ull);
}

TEST_CASE("strings: client values in log fields cannot fake fields of their own") {
    CHECK(log_field("joe@example.com") == "joe@example.com");
    CHECK(log_field("j\xc3\xb6rg@example.com") == "j\xc3\xb6rg@example.com");
    CHECK(log_field("joe status=sent") == "joe\\x20status\\x3dsent");
    CHECK(log_field("a>, to=<b") == "a\\x3e\\x2c\\x20to\\x3d\\x3cb");
    CHECK(log_field("x\r\ny\"z\\") == "x\\x0d\\x0ay\\x22z\\x5c");
    CHECK(log_field("name[1.2.3.4]") == "name\\x5b1.2.3.4\\x5d");
}
