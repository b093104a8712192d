// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/netstring.hh"

#include <cstddef>
#include <limits>
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

outcome summarize(const netstring_result& r) {
    outcome o;
    switch (r.what) {
        case netstring_result::kind::need_more:
            break;
        case netstring_result::kind::value:
            o.what = outcome::kind::value;
            o.value = std::string(r.value);
            o.consumed = r.consumed;
            break;
        case netstring_result::kind::error:
            o.what = outcome::kind::error;
            o.error = r.error;
            o.fatal = true;  // every netstring error loses the framing
            break;
    }
    return o;
}

struct parse_case {
    const char* name;
    std::string input;
    size_t max_length;
    outcome want;
};

outcome value(std::string payload, size_t consumed) {
    return {outcome::kind::value, consumed, std::move(payload), {}, false};
}

outcome error(std::string reason) {
    return {outcome::kind::error, 0, {}, std::move(reason), true};
}

const outcome need_more{};

}  // namespace

TEST_CASE("netstrings parse whole and trickled") {
    const auto tc = GENERATE(values<parse_case>({
        // valid
        {"empty payload", "0:,", 10, value("", 3)},
        {"plain", "5:hello,", 10, value("hello", 8)},
        {"two-digit length", "12:hello world!,", 100, value("hello world!", 16)},
        {"NUL in payload", "3:a\0b,"s, 10, value("a\0b"s, 6)},
        {"CR LF in payload", "2:\r\n,", 10, value("\r\n", 5)},
        {"colon and comma in payload", "3:1:,,", 10, value("1:,", 6)},
        {"non-ASCII payload", "4:j\xc3\xb6r,", 10, value("j\xc3\xb6r", 7)},
        {"exactly the limit", "10:0123456789,", 10, value("0123456789", 14)},
        {"limit zero, empty payload", "0:,", 0, value("", 3)},
        // malformed
        {"no length", ":,", 10, error("netstring length is empty")},
        {"letter in length", "a:", 10, error("netstring length is not a decimal number")},
        {"negative length", "-1:x,", 10, error("netstring length is not a decimal number")},
        {"space before length", " 5:hello,", 10, error("netstring length is not a decimal number")},
        {"space after length", "5 :hello,", 10, error("netstring length is not a decimal number")},
        {"leading zero", "05:hello,", 10, error("netstring length has a leading zero")},
        {"double zero", "00:,", 10, error("netstring length has a leading zero")},
        {"wrong terminator", "5:hello;", 10, error("netstring does not end with ','")},
        {"payload longer than length", "4:hello,", 10, error("netstring does not end with ','")},
        {"LF instead of comma", "1:a\n", 10, error("netstring does not end with ','")},
        // oversized: rejected on the digit that crosses the limit, before any payload arrives
        {"one over the limit", "11:01234567890,", 10, error("netstring length exceeds 10")},
        {"three digits", "100:", 10, error("netstring length exceeds 10")},
        {"limit zero", "1:a,", 0, error("netstring length exceeds 0")},
        {"overflowing length", "99999999999999999999999999:", std::numeric_limits<size_t>::max(),
         error("netstring length exceeds " + std::to_string(std::numeric_limits<size_t>::max()))},
        {"default socketmap limit", "100001:", 100000, error("netstring length exceeds 100000")},
        // truncated
        {"nothing", "", 10, need_more},
        {"digits only", "5", 10, need_more},
        {"colon", "5:", 10, need_more},
        {"payload without comma", "5:hello", 10, need_more},
        {"huge but allowed length", "4294967296:abc", std::numeric_limits<size_t>::max(),
         need_more},
    }));
    CAPTURE(tc.name, tc.input);
    auto parse = [&](std::string_view buf) {
        return summarize(parse_netstring(buf, tc.max_length));
    };
    CHECK(parse(tc.input) == tc.want);
    test::check_trickle(tc.input, tc.want, parse);
}

TEST_CASE("netstring values are views into the input buffer") {
    const std::string buf = "5:hello,";
    const auto r = parse_netstring(buf, 10);
    REQUIRE(r.what == netstring_result::kind::value);
    CHECK(r.value.data() == buf.data() + 2);
}

TEST_CASE("pipelined netstrings parse one after another") {
    const std::vector<std::string> payloads = {"", "a", "hello world", "x\0y"s, "1:,", "\r\n"};
    std::string buf;
    for (const auto& p : payloads) {
        buf += encode_netstring(p);
    }
    buf += "7:partial";
    std::string_view rest = buf;
    for (const auto& p : payloads) {
        const auto r = parse_netstring(rest, 100);
        REQUIRE(r.what == netstring_result::kind::value);
        CHECK(r.value == p);
        rest.remove_prefix(r.consumed);
    }
    CHECK(parse_netstring(rest, 100).what == netstring_result::kind::need_more);
    CHECK(rest == "7:partial");
}

TEST_CASE("netstrings round-trip and encode canonically") {
    CHECK(encode_netstring("") == "0:,");
    CHECK(encode_netstring("hello") == "5:hello,");
    std::string all_bytes;
    for (int c = 0; c < 256; ++c) {
        all_bytes += static_cast<char>(c);
    }
    const std::vector<std::string> payloads = {
        "", "a", all_bytes, std::string(99999, 'x'), std::string(100000, ','), "3:a,,",
    };
    for (const auto& p : payloads) {
        const std::string wire = encode_netstring(p);
        const auto r = parse_netstring(wire, 100000);
        REQUIRE(r.what == netstring_result::kind::value);
        CHECK(r.value == p);
        CHECK(r.consumed == wire.size());
        CHECK(encode_netstring(r.value) == wire);
    }
    CHECK(parse_netstring(encode_netstring(std::string(100001, 'x')), 100000).what ==
          netstring_result::kind::error);
}
