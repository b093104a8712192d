// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/lmtp.hh"

#include <catch2/catch.hpp>

#include "lib/proto/lmtp_data.hh"

using namespace vhostmail::proto;

TEST_CASE("LMTP commands parse", "[lmtp]") {
    struct case_t {
        const char* line;
        bool ok;
        lmtp_verb verb;
        const char* address;
        int code;
    };
    auto tc = GENERATE(values<case_t>({
        {"LHLO mx.example.com", true, lmtp_verb::lhlo, "", 0},
        {"lhlo x", true, lmtp_verb::lhlo, "", 0},
        {"LHLO", false, lmtp_verb::unknown, "", 501},
        {"MAIL FROM:<bob@example.net> SIZE=1830 BODY=8BITMIME", true, lmtp_verb::mail,
         "bob@example.net", 0},
        {"MAIL FROM:<>", true, lmtp_verb::mail, "", 0},
        {"mail from: <a@b>", true, lmtp_verb::mail, "a@b", 0},
        {"MAIL FROM:bob@example.net", false, lmtp_verb::unknown, "", 501},
        {"MAIL TO:<a@b>", false, lmtp_verb::unknown, "", 501},
        {"RCPT TO:<joe@example.com>", true, lmtp_verb::rcpt, "joe@example.com", 0},
        {"RCPT TO:<@relay.example:joe@example.com>", true, lmtp_verb::rcpt, "joe@example.com", 0},
        {"RCPT TO:<\"joe q\"@example.com>", true, lmtp_verb::rcpt, "joe q@example.com", 0},
        {"RCPT TO:<>", false, lmtp_verb::unknown, "", 501},
        {"RCPT TO:<a@b", false, lmtp_verb::unknown, "", 501},
        {"RCPT TO:<a b@c>", false, lmtp_verb::unknown, "", 501},
        {"RCPT TO:<a@b> =x", false, lmtp_verb::unknown, "", 501},
        {"DATA", true, lmtp_verb::data, "", 0},
        {"DATA now", false, lmtp_verb::unknown, "", 501},
        {"RSET", true, lmtp_verb::rset, "", 0},
        {"NOOP hello", true, lmtp_verb::noop, "", 0},
        {"QUIT", true, lmtp_verb::quit, "", 0},
        {"VRFY joe", true, lmtp_verb::vrfy, "", 0},
        {"HELO x", false, lmtp_verb::unknown, "", 500},
        {"EHLO x", false, lmtp_verb::unknown, "", 500},
        {"BDAT 10 LAST", false, lmtp_verb::unknown, "", 500},
        {"", false, lmtp_verb::unknown, "", 500},
        {"RCPT TO:<a\x01@b>", false, lmtp_verb::unknown, "", 501},
    }));
    CAPTURE(tc.line);
    auto p = parse_lmtp_command(tc.line);
    CHECK(p.ok == tc.ok);
    if (tc.ok) {
        CHECK(p.command.verb == tc.verb);
        CHECK(p.command.address == tc.address);
    } else {
        CHECK(p.code == tc.code);
        CHECK_FALSE(p.enhanced.empty());
    }
}

TEST_CASE("LMTP parameters and ORCPT", "[lmtp]") {
    auto p = parse_lmtp_command("RCPT TO:<joe@example.com> ORCPT=rfc822;Joe+2Bx@Example.com notify=never");
    REQUIRE(p.ok);
    REQUIRE(p.command.param("orcpt"));
    CHECK(orcpt_address(*p.command.param("ORCPT")) == "Joe+x@Example.com");
    CHECK(p.command.param("NOTIFY") == "never");
    CHECK_FALSE(p.command.param("SIZE"));
    CHECK_FALSE(orcpt_address("x400;abc"));
    CHECK_FALSE(orcpt_address("rfc822;a+2"));
    CHECK_FALSE(orcpt_address("rfc822;a+0Ab"));
    CHECK(decode_xtext("a+2Bb") == "a+b");
    CHECK_FALSE(decode_xtext("a+zzb"));
    CHECK_FALSE(decode_xtext("a b"));
}

TEST_CASE("paths for MAIL and RCPT quote what a Dot-string cannot hold", "[lmtp]") {
    CHECK(smtp_path("joe@example.com") == "<joe@example.com>");
    CHECK(smtp_path("j.o+e@example.com") == "<j.o+e@example.com>");
    CHECK(smtp_path("j\xc3\xb6rg@example.com") == "<j\xc3\xb6rg@example.com>");
    CHECK(smtp_path("") == "<>");
    CHECK(smtp_path("a b@example.com") == "<\"a b\"@example.com>");
    CHECK(smtp_path("x\"y\\z@example.com") == "<\"x\\\"y\\\\z\"@example.com>");
    CHECK(smtp_path(".lead@example.com") == "<\".lead\"@example.com>");
    CHECK(smtp_path("a..b@example.com") == "<\"a..b\"@example.com>");
    CHECK(smtp_path("a@b@example.com") == "<\"a@b\"@example.com>");
    // What the relay writes, lmtpd reads back as the same address.
    for (std::string a : {"a b@example.com", "x\"y\\z@example.com", "a@b@example.com",
                          "(c)@example.com", "joe@example.com"}) {
        auto parsed = parse_lmtp_command("RCPT TO:" + smtp_path(a));
        REQUIRE(parsed.ok);
        CHECK(parsed.command.address == a);
    }
}

TEST_CASE("LMTP over-long lines are refused", "[lmtp]") {
    std::string longline = "NOOP " + std::string(lmtp_max_line, 'x');
    CHECK(parse_lmtp_command(longline).code == 500);
    auto l = take_lmtp_line(longline);
    CHECK(l.what == lmtp_line::kind::too_long);
    CHECK(l.consumed == longline.size());
    auto l2 = take_lmtp_line(longline + "\r\nQUIT\r\n");
    CHECK(l2.what == lmtp_line::kind::too_long);
    CHECK(l2.consumed == longline.size() + 2);
}

TEST_CASE("LMTP lines split on CRLF or LF", "[lmtp]") {
    auto l = take_lmtp_line("QUIT\r\nNOOP\n");
    REQUIRE(l.what == lmtp_line::kind::line);
    CHECK(l.text == "QUIT");
    CHECK(l.consumed == 6);
    CHECK(take_lmtp_line("QUI").what == lmtp_line::kind::need_more);
    CHECK(take_lmtp_line("NOOP\n").text == "NOOP");
}

TEST_CASE("LMTP replies", "[lmtp]") {
    CHECK(lmtp_reply(250, "2.1.5", "Recipient OK") == "250 2.1.5 Recipient OK\r\n");
    CHECK(lmtp_reply(220, "", "hi") == "220 hi\r\n");
    CHECK(lmtp_reply(550, "5.1.1", "a\r\nb") == "550 5.1.1 a??b\r\n");
    CHECK(lmtp_multiline(250, {"mx", "PIPELINING", "SIZE 10"}) ==
          "250-mx\r\n250-PIPELINING\r\n250 SIZE 10\r\n");
}

namespace {

struct decoded {
    std::string out;
    size_t consumed = 0;
    bool done = false;
    bool too_big = false;
};

decoded decode_whole(std::string_view in, size_t max = 1 << 20) {
    data_decoder d(max);
    decoded r;
    r.consumed = d.feed(in, r.out);
    r.done = d.done();
    r.too_big = d.too_big();
    return r;
}

decoded decode_trickle(std::string_view in, size_t max = 1 << 20) {
    data_decoder d(max);
    decoded r;
    for (size_t i = 0; i < in.size() && !d.done(); ++i) {
        r.consumed += d.feed(in.substr(i, 1), r.out);
    }
    r.done = d.done();
    r.too_big = d.too_big();
    return r;
}

}  // namespace

TEST_CASE("DATA decoding: dot-unstuffing, terminator, LF line ends", "[lmtp]") {
    struct case_t {
        std::string wire;
        std::string text;
        size_t consumed;
        bool done;
    };
    auto tc = GENERATE(values<case_t>({
        {"Subject: x\r\n\r\nbody\r\n.\r\n", "Subject: x\n\nbody\n", 23, true},
        {"..leading dot\r\n.\r\nQUIT\r\n", ".leading dot\n", 18, true},
        {".\r\n", "", 3, true},
        {"a\r\n.\n", "a\n", 5, true},
        {"bare\rcr\r\n.\r\n", "bare\rcr\n", 12, true},
        {"a\r\n.x\r\n.\r\n", "a\nx\n", 10, true},
        {"no end\r\n", "no end\n", 8, false},
        {"a.\r\n.\r\n", "a.\n", 7, true},
        {".\rx\r\n.\r\n", "\rx\n", 8, true},
    }));
    CAPTURE(tc.wire);
    for (auto r : {decode_whole(tc.wire), decode_trickle(tc.wire)}) {
        CHECK(r.out == tc.text);
        CHECK(r.consumed == tc.consumed);
        CHECK(r.done == tc.done);
    }
}

TEST_CASE("DATA decoding: oversized messages are consumed but flagged", "[lmtp]") {
    std::string wire = std::string(100, 'x') + "\r\n.\r\nQUIT\r\n";
    for (auto r : {decode_whole(wire, 10), decode_trickle(wire, 10)}) {
        CHECK(r.done);
        CHECK(r.too_big);
        CHECK(r.out.size() == 10);
        CHECK(r.consumed == wire.size() - 6);
    }
}

TEST_CASE("dot_stuff is the inverse of the decoder", "[lmtp]") {
    for (std::string text : {"a\n.b\n..c\n", "", "no newline", ".\n", "x\n\n.\n"}) {
        auto wire = dot_stuff(text);
        auto r = decode_whole(wire);
        CHECK(r.done);
        CHECK(r.consumed == wire.size());
        std::string expect = text;
        if (!expect.empty() && expect.back() != '\n') {
            expect += '\n';
        }
        CHECK(r.out == expect);
    }
}

TEST_CASE("dot_stuff output, byte for byte", "[lmtp]") {
    CHECK(dot_stuff("") == ".\r\n");
    CHECK(dot_stuff("x") == "x\r\n.\r\n");
    CHECK(dot_stuff("a\n.b\n") == "a\r\n..b\r\n.\r\n");
    CHECK(dot_stuff("\n.\n..\nend") == "\r\n..\r\n...\r\nend\r\n.\r\n");
    CHECK(dot_stuff("a.b\n") == "a.b\r\n.\r\n");  // only a leading dot is doubled
}

TEST_CASE("LMTP replies as the relay client reads them", "[lmtp]") {
    auto r = parse_lmtp_reply("250 2.1.5 <joe@example.com> Recipient OK");
    REQUIRE(r);
    CHECK(r->code == 250);
    CHECK(r->last);
    CHECK(r->enhanced == "2.1.5");
    CHECK(r->text == "<joe@example.com> Recipient OK");
    r = parse_lmtp_reply("250-PIPELINING");
    REQUIRE(r);
    CHECK(!r->last);
    CHECK(r->enhanced.empty());
    CHECK(r->text == "PIPELINING");
    r = parse_lmtp_reply("354 Send message; end with <CRLF>.<CRLF>");
    REQUIRE(r);
    CHECK(r->enhanced.empty());
    r = parse_lmtp_reply("552 5.2.2");
    REQUIRE(r);
    CHECK(r->enhanced == "5.2.2");
    CHECK(r->text.empty());
    CHECK(parse_lmtp_reply("250") ->last);
    CHECK(!parse_lmtp_reply("25"));
    CHECK(!parse_lmtp_reply("199 too low"));
    CHECK(!parse_lmtp_reply("600 too high"));
    CHECK(!parse_lmtp_reply("250x"));
    CHECK(parse_lmtp_reply("451 4.3.0.1 not a code")->enhanced.empty());
}

TEST_CASE("xtext encodes what decode_xtext reads back", "[lmtp]") {
    CHECK(encode_xtext("joe+x=y@example.com") == "joe+2Bx+3Dy@example.com");
    CHECK(encode_xtext("a b\x01\xc3") == "a+20b+01+C3");
    CHECK(decode_xtext(encode_xtext("joe+x=y@example.com")) == "joe+x=y@example.com");
}
