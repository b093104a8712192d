// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/socketmap.hh"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "lib/proto/netstring.hh"

#include "tests/unit/proto/trickle.hh"

using namespace vhostmail::proto;
using namespace std::string_literals;
using test::outcome;

namespace {

// A request flattens to value "<map>|<key>".
outcome summarize(const socketmap_parse& r) {
    outcome o;
    switch (r.what) {
        case socketmap_parse::kind::need_more:
            break;
        case socketmap_parse::kind::request:
            o.what = outcome::kind::value;
            o.value = r.request.map + "|" + r.request.key;
            o.consumed = r.consumed;
            break;
        case socketmap_parse::kind::error:
            o.what = outcome::kind::error;
            o.error = r.error;
            o.fatal = r.fatal;
            o.consumed = r.consumed;
            break;
    }
    return o;
}

struct parse_case {
    const char* name;
    std::string input;
    size_t max_request;
    outcome want;
};

// consumed is filled in by the test: every complete message in the table spans its input.
outcome request(const std::string& map, const std::string& key) {
    return {outcome::kind::value, 0, map + "|" + key, {}, false};
}

outcome soft_error(std::string reason) {
    return {outcome::kind::error, 0, {}, std::move(reason), false};
}

outcome fatal_error(std::string reason) {
    return {outcome::kind::error, 0, {}, std::move(reason), true};
}

const outcome need_more{};

std::string ns(std::string_view payload) {
    return encode_netstring(payload);
}

const std::string map64(64, 'm');

}  // namespace

TEST_CASE("socketmap requests parse whole and trickled") {
    const auto tc = GENERATE(values<parse_case>({
        // valid (the first two are the transcript in docs/protocols.md 2.5)
        {"address", "23:virtual joe@example.com,", socketmap_max_request,
         request("virtual", "joe@example.com")},
        {"domain", "19:domains example.com,", socketmap_max_request,
         request("domains", "example.com")},
        {"key with spaces: split at the first space only", ns("map a b  c d "),
         socketmap_max_request, request("map", "a b  c d ")},
        {"key starting with a space", ns("map  x"), socketmap_max_request, request("map", " x")},
        {"UTF-8 key", ns("map j\xc3\xb6rg@example.com"), socketmap_max_request,
         request("map", "j\xc3\xb6rg@example.com")},
        {"key with CR LF % and controls", ns("map a\r\nb%20\x01\x7f\xff"), socketmap_max_request,
         request("map", "a\r\nb%20\x01\x7f\xff")},
        {"key with comma and colon", ns("map 3:a,b"), socketmap_max_request,
         request("map", "3:a,b")},
        {"map name characters", ns("Map_1.x-Y key@x"), socketmap_max_request,
         request("Map_1.x-Y", "key@x")},
        {"64-char map name", ns(map64 + " k"), socketmap_max_request, request(map64, "k")},
        {"exactly the limit", "10:m 12345678,", 10, request("m", "12345678")},
        // well framed, bad payload: reply PERM, keep the connection
        {"no space", ns("virtual"), socketmap_max_request,
         soft_error("request has no space between map name and key")},
        {"empty netstring", "0:,", socketmap_max_request,
         soft_error("request has no space between map name and key")},
        {"empty map name", ns(" key"), socketmap_max_request, soft_error("bad map name")},
        {"colon in map name", ns("ma:p key"), socketmap_max_request, soft_error("bad map name")},
        {"slash in map name", ns("ma/p key"), socketmap_max_request, soft_error("bad map name")},
        {"tab instead of space", ns("map\tkey"), socketmap_max_request,
         soft_error("request has no space between map name and key")},
        {"non-ASCII map name", ns("m\xc3\xa4p key"), socketmap_max_request,
         soft_error("bad map name")},
        {"65-char map name", ns(map64 + "m k"), socketmap_max_request, soft_error("bad map name")},
        {"empty key", ns("map "), socketmap_max_request, soft_error("empty key")},
        {"NUL in key", ns("map a\0b"s), socketmap_max_request, soft_error("key contains NUL")},
        // framing lost: reply PERM and close
        {"not a netstring", "virtual joe@example.com\n", socketmap_max_request,
         fatal_error("netstring length is not a decimal number")},
        {"wrong terminator", "5:m key;", socketmap_max_request,
         fatal_error("netstring does not end with ','")},
        {"leading zero", "05:m key,", socketmap_max_request,
         fatal_error("netstring length has a leading zero")},
        {"over the default limit", "10001:", socketmap_max_request,
         fatal_error("netstring length exceeds 10000")},
        {"over a small limit", "11:m 123456789,", 10, fatal_error("netstring length exceeds 10")},
        // truncated
        {"nothing", "", socketmap_max_request, need_more},
        {"length only", "23", socketmap_max_request, need_more},
        {"half the payload", "23:virtual joe", socketmap_max_request, need_more},
        {"no comma yet", "23:virtual joe@example.com", socketmap_max_request, need_more},
    }));
    CAPTURE(tc.name, tc.input);
    auto parse = [&](std::string_view buf) {
        return summarize(parse_socketmap_request(buf, tc.max_request));
    };
    // Every complete message in the table spans its whole input.
    outcome want = tc.want;
    if (want.what == outcome::kind::value || (want.what == outcome::kind::error && !want.fatal)) {
        want.consumed = tc.input.size();
    }
    CHECK(parse(tc.input) == want);
    test::check_trickle(tc.input, want, parse);
}

TEST_CASE("pipelined socketmap requests, with a bad one in the middle") {
    std::string buf = encode_netstring("virtual joe@example.com") + encode_netstring("nospace") +
                      encode_netstring("domains example.com") +
                      encode_netstring("mailbox ann@example.com") + "5:mail";
    std::string_view rest = buf;
    std::vector<std::string> got;
    for (;;) {
        const auto r = parse_socketmap_request(rest);
        if (r.what == socketmap_parse::kind::need_more) {
            break;
        }
        REQUIRE_FALSE(r.fatal);
        REQUIRE(r.consumed > 0);
        REQUIRE(r.consumed <= rest.size());
        got.push_back(r.what == socketmap_parse::kind::request ? r.request.map + "|" + r.request.key
                                                               : "error: " + r.error);
        rest.remove_prefix(r.consumed);
    }
    CHECK(got == std::vector<std::string>{
                     "virtual|joe@example.com",
                     "error: request has no space between map name and key",
                     "domains|example.com",
                     "mailbox|ann@example.com",
                 });
    CHECK(rest == "5:mail");
}

TEST_CASE("socketmap replies match docs/protocols.md 2.3") {
    CHECK(encode_socketmap_reply(socketmap_status::ok, "joe@example.com") ==
          "18:OK joe@example.com,");
    CHECK(encode_socketmap_reply(socketmap_status::ok, "1") == "4:OK 1,");
    CHECK(encode_socketmap_reply(socketmap_status::notfound, "") == "9:NOTFOUND ,");
    CHECK(encode_socketmap_reply(socketmap_status::notfound, "ignored") == "9:NOTFOUND ,");
    CHECK(encode_socketmap_reply(socketmap_status::temp, "database unavailable") ==
          "25:TEMP database unavailable,");
    CHECK(encode_socketmap_reply(socketmap_status::perm, "bad map name") ==
          "17:PERM bad map name,");
    CHECK(encode_socketmap_reply(socketmap_status::timeout, "slow") == "12:TIMEOUT slow,");
    CHECK(encode_socketmap_reply(socketmap_status::temp, "") == "5:TEMP ,");
}

TEST_CASE("socketmap reply data is sent raw, but never empty or with NUL when found") {
    const std::string odd = "a b,c:d%20\r\n\t\x01\x7f\xc3\xa4 ";
    CHECK(encode_socketmap_reply(socketmap_status::ok, odd) == encode_netstring("OK " + odd));
    CHECK(encode_socketmap_reply(socketmap_status::ok, "") ==
          encode_netstring("TEMP lookup result is empty"));
    CHECK(encode_socketmap_reply(socketmap_status::ok, "a\0b"s) ==
          encode_netstring("TEMP lookup result contains NUL"));
    // A reason is only logged by Postfix: NUL is harmless there.
    CHECK(encode_socketmap_reply(socketmap_status::temp, "a\0b"s) ==
          encode_netstring("TEMP a\0b"s));
}

TEST_CASE("oversized socketmap replies become TEMP, never truncated answers") {
    // The limit is on the payload, excluding the netstring wrapper (dict_sockmap.c).
    const std::string fits(socketmap_max_reply - 3, 'x');
    const std::string wire = encode_socketmap_reply(socketmap_status::ok, fits);
    CHECK(wire == encode_netstring("OK " + fits));
    const auto parsed = parse_netstring(wire, socketmap_max_reply);
    REQUIRE(parsed.what == netstring_result::kind::value);
    CHECK(parsed.value.size() == socketmap_max_reply);

    const std::string too_big(socketmap_max_reply - 2, 'x');
    CHECK(encode_socketmap_reply(socketmap_status::ok, too_big) ==
          encode_netstring("TEMP lookup result too large (100001 bytes, limit 100000)"));
    CHECK(encode_socketmap_reply(socketmap_status::perm, too_big) ==
          encode_netstring("TEMP lookup result too large (100003 bytes, limit 100000)"));
    CHECK(encode_socketmap_reply(socketmap_status::ok, "abcdef", 8) ==
          encode_netstring("TEMP loo"));
    CHECK(encode_socketmap_reply(socketmap_status::ok, "abcde", 8) == "8:OK abcde,");
    CHECK(encode_socketmap_reply(socketmap_status::ok, "abcdef", 2) == "5:TEMP ,");
}

TEST_CASE("socketmap reply round trip through the netstring parser") {
    std::string all_bytes;
    for (int c = 1; c < 256; ++c) {
        all_bytes += static_cast<char>(c);
    }
    for (const auto status : {socketmap_status::ok, socketmap_status::temp, socketmap_status::perm,
                              socketmap_status::timeout}) {
        const std::string wire = encode_socketmap_reply(status, all_bytes);
        const auto r = parse_netstring(wire, socketmap_max_reply);
        REQUIRE(r.what == netstring_result::kind::value);
        CHECK(r.consumed == wire.size());
        const auto space = r.value.find(' ');
        REQUIRE(space != std::string_view::npos);
        CHECK(r.value.substr(space + 1) == all_bytes);
    }
}
