// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/tcp_table.hh"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/unit/proto/trickle.hh"

using namespace vhostmail::proto;
using namespace std::string_literals;
using test::outcome;

namespace {

outcome summarize(const tcp_table_parse& r) {
    outcome o;
    switch (r.what) {
        case tcp_table_parse::kind::need_more:
            break;
        case tcp_table_parse::kind::request:
            o.what = outcome::kind::value;
            o.value = r.request.key;
            o.consumed = r.consumed;
            break;
        case tcp_table_parse::kind::error:
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
    size_t max_line;
    outcome want;
};

// consumed is filled in by the test: every complete line in the table spans its input.
outcome key(std::string decoded) {
    return {outcome::kind::value, 0, std::move(decoded), {}, false};
}

outcome soft_error(std::string reason) {
    return {outcome::kind::error, 0, {}, std::move(reason), false};
}

outcome fatal_error(std::string reason) {
    return {outcome::kind::error, 0, {}, std::move(reason), true};
}

const outcome need_more{};
constexpr size_t max = tcp_table_max_request;

std::string all_bytes(int from = 0) {
    std::string s;
    for (int c = from; c < 256; ++c) {
        s += static_cast<char>(c);
    }
    return s;
}

}  // namespace

TEST_CASE("tcp_table requests parse whole and trickled") {
    const auto tc = GENERATE(values<parse_case>({
        // valid (docs/protocols.md 1.3 and 1.6)
        {"address", "get joe+news@example.com\n", max, key("joe+news@example.com")},
        {"domain", "get example.com\n", max, key("example.com")},
        {"encoded space", "get \"john%20doe\"@example.com\n", max, key("\"john doe\"@example.com")},
        {"UTF-8, upper-case hex", "get j%C3%B6rg@example.com\n", max,
         key("j\xc3\xb6rg@example.com")},
        {"lower-case hex", "get j%c3%b6rg@example.com\n", max, key("j\xc3\xb6rg@example.com")},
        {"encoded percent, CR, LF, TAB, DEL", "get a%25b%0D%0A%09%7F\n", max, key("a%b\r\n\t\x7f")},
        {"CR before LF is tolerated", "get joe@example.com\r\n", max, key("joe@example.com")},
        {"only the last CR is dropped", "get a\r\r\n", max, key("a\r")},
        {"raw bytes are kept as they are", "get a b\t\xff\n", max, key("a b\t\xff")},
        {"exactly max_line bytes", "get 123456789012\n", 17, key("123456789012")},
        // well-formed line, not a lookup: reply 500, keep the connection
        {"put", "put key value\n", max,
         soft_error("put is not implemented: the table is read-only")},
        {"unknown command", "delete key\n", max, soft_error("unknown command")},
        {"commands are case-sensitive", "GET key\n", max, soft_error("unknown command")},
        {"empty line", "\n", max, soft_error("empty request line")},
        {"CR LF only", "\r\n", max, soft_error("empty request line")},
        {"get without key", "get\n", max, soft_error("get without a key")},
        {"get with empty key", "get \n", max, soft_error("empty key")},
        {"TAB after get", "get\tkey\n", max, soft_error("unknown command")},
        {"bad hex digit", "get a%zzb\n", max, soft_error("malformed %XX escape in key")},
        {"one hex digit", "get a%2\n", max, soft_error("malformed %XX escape in key")},
        {"lone percent", "get %\n", max, soft_error("malformed %XX escape in key")},
        {"NUL in key", "get a%00b\n", max, soft_error("key contains NUL")},
        {"raw NUL in key", "get a\0b\n"s, max, soft_error("key contains NUL")},
        // too long: reply 500 and close
        {"one byte over max_line", "get 1234567890123\n", 17,
         fatal_error("request line longer than 17 bytes")},
        {"no LF at all", std::string(64, 'x'), 17,
         fatal_error("request line longer than 17 bytes")},
        {"over the default limit", "get " + std::string(max, 'a') + "\n", max,
         fatal_error("request line longer than 16384 bytes")},
        // truncated
        {"nothing", "", max, need_more},
        {"no LF yet", "get joe@example.com", max, need_more},
        {"CR without LF", "get joe@example.com\r", max, need_more},
    }));
    CAPTURE(tc.name, tc.input);
    auto parse = [&](std::string_view buf) {
        return summarize(parse_tcp_table_request(buf, tc.max_line));
    };
    outcome want = tc.want;
    if (want.what == outcome::kind::value || (want.what == outcome::kind::error && !want.fatal)) {
        want.consumed = tc.input.size();
    }
    CHECK(parse(tc.input) == want);
    // Trickling a 16 KiB line costs O(n^2): the small-limit cases cover the same code.
    if (tc.input.size() < 1024) {
        test::check_trickle(tc.input, want, parse);
    }
}

TEST_CASE("pipelined tcp_table requests, with bad ones in the middle") {
    const std::string buf =
        "get a@example.com\nput x y\nget b%40example.com\r\nget %zz\nget c@example.com\nget d";
    std::string_view rest = buf;
    std::vector<std::string> got;
    for (;;) {
        const auto r = parse_tcp_table_request(rest);
        if (r.what == tcp_table_parse::kind::need_more) {
            break;
        }
        REQUIRE_FALSE(r.fatal);
        REQUIRE(r.consumed > 0);
        REQUIRE(r.consumed <= rest.size());
        got.push_back(r.what == tcp_table_parse::kind::request ? r.request.key
                                                               : "error: " + r.error);
        rest.remove_prefix(r.consumed);
    }
    CHECK(got == std::vector<std::string>{
                     "a@example.com",
                     "error: put is not implemented: the table is read-only",
                     "b@example.com",
                     "error: malformed %XX escape in key",
                     "c@example.com",
                 });
    CHECK(rest == "get d");
}

TEST_CASE("tcp_table encoding is Postfix's hex_quote") {
    CHECK(tcp_table_encode("") == "");
    CHECK(tcp_table_encode("joe@example.com,ann@example.com") == "joe@example.com,ann@example.com");
    CHECK(tcp_table_encode("\"john doe\"@example.com") == "\"john%20doe\"@example.com");
    CHECK(tcp_table_encode("100%") == "100%25");
    CHECK(tcp_table_encode("a\r\nb\tc\vd\fe") == "a%0D%0Ab%09c%0Bd%0Ce");
    CHECK(tcp_table_encode("\x01\x1f\x7f\x80\xff") == "%01%1F%7F%80%FF");
    CHECK(tcp_table_encode("j\xc3\xb6rg") == "j%C3%B6rg");
    CHECK(tcp_table_encode("a\0b"s) == "a%00b");
    CHECK(tcp_table_encode("+:\"!~{}") == "+:\"!~{}");
    // Everything printable except '%' and SP passes; everything else is three bytes.
    const std::string encoded = tcp_table_encode(all_bytes());
    CHECK(encoded.size() == 93 + 3 * (256 - 93));  // 0x21..0x7e except %
    for (size_t i = 0; i < encoded.size(); ++i) {
        const auto c = static_cast<unsigned char>(encoded[i]);
        CHECK((c > 0x20 && c < 0x7f));
    }
}

TEST_CASE("tcp_table decoding") {
    CHECK(tcp_table_decode("") == "");
    CHECK(tcp_table_decode("a%20b") == "a b");
    CHECK(tcp_table_decode("%c3%B6") == "\xc3\xb6");
    CHECK(tcp_table_decode("%00") == "\0"s);
    CHECK(tcp_table_decode("%2525") == "%25");
    CHECK(tcp_table_decode("raw space ok") == "raw space ok");
    CHECK_FALSE(tcp_table_decode("%"));
    CHECK_FALSE(tcp_table_decode("%2"));
    CHECK_FALSE(tcp_table_decode("a%g0"));
    CHECK_FALSE(tcp_table_decode("a%0g"));
    CHECK_FALSE(tcp_table_decode("%%41"));
    CHECK_FALSE(tcp_table_decode("%-1"));
}

TEST_CASE("tcp_table encode/decode round trip") {
    const std::vector<std::string> inputs = {
        "", "plain", all_bytes(), "%%%", "%25", " leading and trailing ", "\0\0"s, "\r\n\r\n",
    };
    for (const auto& raw : inputs) {
        CAPTURE(raw);
        CHECK(tcp_table_decode(tcp_table_encode(raw)) == raw);
    }
}

TEST_CASE("tcp_table replies match docs/protocols.md 1.2") {
    CHECK(encode_tcp_table_reply(tcp_table_status::ok, "joe@example.com,ann@example.com") ==
          "200 joe@example.com,ann@example.com\n");
    CHECK(encode_tcp_table_reply(tcp_table_status::not_found, "not found") == "500 not%20found\n");
    CHECK(encode_tcp_table_reply(tcp_table_status::not_found, "") == "500 \n");
    CHECK(encode_tcp_table_reply(tcp_table_status::temp, "database unavailable") ==
          "400 database%20unavailable\n");
    CHECK(encode_tcp_table_reply(tcp_table_status::ok, "a b%\r\n\t\xc3\xa4") ==
          "200 a%20b%25%0D%0A%09%C3%A4\n");
    // Postfix would fail an empty value and truncate at a NUL: say why instead.
    CHECK(encode_tcp_table_reply(tcp_table_status::ok, "") == "400 lookup%20result%20is%20empty\n");
    CHECK(encode_tcp_table_reply(tcp_table_status::ok, "a\0b"s) ==
          "400 lookup%20result%20contains%20NUL\n");
    CHECK(encode_tcp_table_reply(tcp_table_status::not_found, "a\0b"s) == "500 a%00b\n");
}

TEST_CASE("tcp_table reply lines never exceed 4096 bytes and are never truncated") {
    // "200 " + 4091 bytes + LF = 4096: the longest line dict_tcp.c accepts.
    const std::string fits(tcp_table_max_reply - 5, 'x');
    const std::string line = encode_tcp_table_reply(tcp_table_status::ok, fits);
    CHECK(line.size() == tcp_table_max_reply);
    CHECK(line == "200 " + fits + "\n");

    const std::string too_big(tcp_table_max_reply - 4, 'x');
    CHECK(encode_tcp_table_reply(tcp_table_status::ok, too_big) ==
          "400 lookup%20result%20too%20large%20(4097%20bytes,%20limit%204096)\n");
    // Encoding triples a byte: 1400 spaces become 4200 bytes.
    CHECK(encode_tcp_table_reply(tcp_table_status::ok, std::string(1400, ' ')) ==
          "400 lookup%20result%20too%20large%20(4205%20bytes,%20limit%204096)\n");
    CHECK(encode_tcp_table_reply(tcp_table_status::not_found, too_big).starts_with("400 "));
    CHECK(tcp_table_answer_fits(fits));
    CHECK_FALSE(tcp_table_answer_fits(too_big));
    CHECK_FALSE(tcp_table_answer_fits(std::string(1400, ' ')));

    // A tiny limit cuts the reason before encoding, so no %XX escape is split.
    const std::string tiny = encode_tcp_table_reply(tcp_table_status::ok, "abcdefghij", 14);
    CHECK(tiny == "400 lookup%20\n");
    CHECK(encode_tcp_table_reply(tcp_table_status::ok, "abcdefghij", 12) == "400 lookup\n");
    CHECK(encode_tcp_table_reply(tcp_table_status::ok, "abcdefghij", 1) == "400 \n");
}

TEST_CASE("every tcp_table reply is one well-formed line that decodes back") {
    const std::vector<std::string> texts = {
        "x", all_bytes(1), "%", " ", "\n", "\r", "a\nb", std::string(1300, '\xff'),
    };
    for (const auto status :
         {tcp_table_status::ok, tcp_table_status::not_found, tcp_table_status::temp}) {
        for (const auto& text : texts) {
            CAPTURE(static_cast<int>(status), text);
            const std::string line = encode_tcp_table_reply(status, text);
            REQUIRE(line.size() >= 5);
            CHECK(line.size() <= tcp_table_max_reply);
            CHECK(line.find('\n') == line.size() - 1);
            CHECK(line[3] == ' ');
            const auto decoded =
                tcp_table_decode(std::string_view(line).substr(4, line.size() - 5));
            REQUIRE(decoded);
            if (line.starts_with(std::to_string(static_cast<int>(status)))) {
                CHECK(*decoded == text);
            }
        }
    }
}
