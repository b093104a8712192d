// SPDX-License-Identifier: Apache-2.0
#include "lib/core/encoding.hh"

#include <string>

#include <catch2/catch.hpp>

using namespace vhostmail;
using namespace std::string_literals;

TEST_CASE("base64: strict decoding and round trips") {
    CHECK(base64_decode("") == ""s);
    CHECK(base64_decode("am9l") == "joe"s);
    CHECK(base64_decode("am9lMQ==") == "joe1"s);
    CHECK(base64_decode("am9lMTI=") == "joe12"s);
    CHECK(base64_decode("AGpvZUBleGFtcGxlLmNvbQBzM2NyZXQ=") == "\0joe@example.com\0s3cret"s);
    CHECK_FALSE(base64_decode("am9"));
    CHECK_FALSE(base64_decode("am9l\n"));
    CHECK_FALSE(base64_decode("a=9l"));
    CHECK_FALSE(base64_decode("am==am9l"));
    CHECK_FALSE(base64_decode("am9*"));
    CHECK_FALSE(base64_decode("===="));
    CHECK_FALSE(base64_decode("QR=="));  // non-canonical trailing bits
    CHECK(base64_decode("QQ==") == "A"s);
    for (std::string s : {""s, "a"s, "ab"s, "abc"s, "abcd"s, "\0\xff\x80"s}) {
        CHECK(base64_decode(base64_encode(s)) == s);
    }
    CHECK(base64_encode("Username:") == "VXNlcm5hbWU6");
    CHECK(base64_encode("Password:") == "UGFzc3dvcmQ6");
}

TEST_CASE("hex: either case in, lower case out") {
    CHECK(hex_encode("\x00\x7f\xff"s) == "007fff");
    CHECK(hex_decode("007FfF") == "\x00\x7f\xff"s);
    CHECK(hex_decode("") == ""s);
    CHECK_FALSE(hex_decode("abc"));
    CHECK_FALSE(hex_decode("0g"));
    CHECK(hex_digit_value('F') == 15);
    CHECK(hex_digit_value('x') == -1);
    CHECK(hex_digit(10, true) == 'A');
    CHECK(hex_digit(10) == 'a');
}
