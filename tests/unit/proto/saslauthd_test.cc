// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/saslauthd.hh"

#include <string>

#include <catch2/catch.hpp>

#include "tests/unit/proto/trickle.hh"

using namespace vhostmail::proto;
using namespace std::string_literals;
using test::outcome;

namespace {

std::string field(std::string_view s) {
    std::string out;
    out += static_cast<char>(s.size() >> 8);
    out += static_cast<char>(s.size() & 0xff);
    return out + std::string(s);
}

std::string request(std::string_view l, std::string_view p, std::string_view s,
                    std::string_view r) {
    return field(l) + field(p) + field(s) + field(r);
}

outcome summarize(const saslauthd_parse& r) {
    outcome o;
    switch (r.what) {
        case saslauthd_parse::kind::need_more:
            return o;
        case saslauthd_parse::kind::request:
            o.what = outcome::kind::value;
            o.value = r.request.login + "|" + r.request.password + "|" + r.request.service + "|" +
                      r.request.realm;
            break;
        case saslauthd_parse::kind::error:
            o.what = outcome::kind::error;
            o.error = r.error;
            o.fatal = true;
            break;
    }
    o.consumed = r.consumed;
    return o;
}

}  // namespace

TEST_CASE("saslauthd: the docs/protocols.md hex example, buffered and one byte at a time") {
    std::string wire =
        "\x00\x03joe\x00\x06s3cret\x00\x04smtp\x00\x0b"
        "example.com"s;
    REQUIRE(wire.size() == 32);
    outcome want{outcome::kind::value, 32, "joe|s3cret|smtp|example.com", "", false};
    CHECK(summarize(parse_saslauthd_request(wire)) == want);
    test::check_trickle(wire, want,
                        [](std::string_view b) { return summarize(parse_saslauthd_request(b)); });
    auto r = parse_saslauthd_request(wire);
    CHECK(saslauthd_full_login(r.request) == "joe@example.com");
}

TEST_CASE("saslauthd: empty fields, empty realm, binary bytes") {
    auto r = parse_saslauthd_request(request("joe@example.com", "p\0w"s, "imap", ""));
    REQUIRE(r.what == saslauthd_parse::kind::request);
    CHECK(r.request.password == "p\0w"s);
    CHECK(saslauthd_full_login(r.request) == "joe@example.com");
    auto e = parse_saslauthd_request(request("", "", "", ""));
    CHECK(e.what == saslauthd_parse::kind::request);
    CHECK(e.consumed == 8);
}

TEST_CASE("saslauthd: oversized fields are errors, at the limit they are fine") {
    std::string max(saslauthd_max_field, 'a');
    CHECK(parse_saslauthd_request(request(max, max, max, max)).what ==
          saslauthd_parse::kind::request);
    for (int which = 0; which < 4; ++which) {
        CAPTURE(which);
        std::string f[4] = {"joe", "pw", "smtp", "ex.com"};
        f[which] = std::string(saslauthd_max_field + 1, 'b');
        std::string wire = request(f[0], f[1], f[2], f[3]);
        auto r = parse_saslauthd_request(wire);
        CHECK(r.what == saslauthd_parse::kind::error);
        CHECK(r.request.password.empty());
        CHECK(r.error.find("bbb") == std::string::npos);  // never echo the data
        auto whole = summarize(r);
        test::check_trickle(
            wire, whole, [](std::string_view b) { return summarize(parse_saslauthd_request(b)); });
    }
    // Claimed length 0xffff with nothing after it: refused at once, not awaited.
    CHECK(parse_saslauthd_request("\xff\xff"s).what == saslauthd_parse::kind::error);
}

TEST_CASE("saslauthd: replies") {
    CHECK(encode_saslauthd_reply(true, "") == "\x00\x02OK"s);
    CHECK(encode_saslauthd_reply(true, "Success.") == "\x00\x0bOK Success."s);
    CHECK(encode_saslauthd_reply(false, "authentication failed") ==
          "\x00\x18NO authentication failed"s);
    auto big = encode_saslauthd_reply(false, std::string(5000, 'x'));
    CHECK(big.size() == 2 + 3 + 1000);
    CHECK(static_cast<unsigned char>(big[0]) * 256 + static_cast<unsigned char>(big[1]) == 1003);
}
