// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/dovecot_auth.hh"

#include <string>

#include <catch2/catch.hpp>

#include "tests/unit/proto/trickle.hh"

using namespace vhostmail::proto;
using namespace std::string_literals;
using test::outcome;

namespace {

// consumed in the table is ignored: each case is one line, consumed entirely.
// A command flattens to "<verb>|<id>|<mech>|<service>|<rip>|<secured>|<resp?>|<resp>".
outcome summarize(const dovecot_auth_parse& r) {
    outcome o;
    const auto& c = r.request;
    switch (r.what) {
        case dovecot_auth_parse::kind::need_more:
            return o;
        case dovecot_auth_parse::kind::request:
            o.what = outcome::kind::value;
            break;
        case dovecot_auth_parse::kind::error:
            o.what = outcome::kind::error;
            o.error = r.error;
            o.fatal = r.fatal;
            break;
    }
    static const char* verbs[] = {"VERSION", "CPID", "AUTH", "CONT", "?"};
    o.value = std::string(verbs[static_cast<int>(c.what)]) + "|" + std::to_string(c.id) + "|" +
              c.mech + "|" + c.service + "|" + c.remote_ip + "|" + (c.secured ? "s" : "-") + "|" +
              (c.has_response ? "r" : "-") + "|" + c.response;
    o.consumed = r.consumed;
    return o;
}

struct parse_case {
    const char* name;
    std::string input;
    outcome want;
};

const parse_case cases[] = {
    {"version", "VERSION\t1\t0\n", {outcome::kind::value, 12, "VERSION|0||||-|-|", "", false}},
    {"cpid", "CPID\t4711\n", {outcome::kind::value, 10, "CPID|0||||-|-|", "", false}},
    {"auth postfix",
     "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=192.0.2.7\tsecured\tresp="
     "AGpvZQBz\n",
     {outcome::kind::value, 87, "AUTH|1|PLAIN|smtp|192.0.2.7|s|r|AGpvZQBz", "", false}},
    {"auth lower-case mech, no resp",
     "AUTH\t2\tlogin\tservice=smtp\tnologin\tlip=1.2.3.4\trip=5.6.7.8\n",
     {outcome::kind::value, 59, "AUTH|2|LOGIN|smtp|5.6.7.8|-|-|", "", false}},
    {"auth empty initial response",
     "AUTH\t3\tPLAIN\tresp==\n",
     {outcome::kind::value, 20, "AUTH|3|PLAIN|||-|r|", "", false}},
    {"auth resp= means none",
     "AUTH\t3\tPLAIN\tresp=\n",
     {outcome::kind::value, 19, "AUTH|3|PLAIN|||-|-|", "", false}},
    {"cont", "CONT\t2\tam9l\n", {outcome::kind::value, 12, "CONT|2||||-|r|am9l", "", false}},
    {"cont empty", "CONT\t2\t\n", {outcome::kind::value, 8, "CONT|2||||-|r|", "", false}},
    {"crlf tolerated", "CPID\t1\r\n", {outcome::kind::value, 8, "CPID|0||||-|-|", "", false}},
    {"unknown ignored", "HELLO\tworld\n", {outcome::kind::value, 12, "?|0||||-|-|", "", false}},
    {"empty line", "\n", {outcome::kind::value, 1, "?|0||||-|-|", "", false}},
    {"wrong major",
     "VERSION\t2\t0\n",
     {outcome::kind::error, 12, "VERSION|0||||-|-|", "unsupported protocol version", true}},
    {"version garbage",
     "VERSION\tx\n",
     {outcome::kind::error, 10, "VERSION|0||||-|-|", "unsupported protocol version", true}},
    {"auth bad id",
     "AUTH\tx\tPLAIN\n",
     {outcome::kind::error, 13, "?|0||||-|-|", "malformed AUTH id", true}},
    {"auth id zero",
     "AUTH\t0\tPLAIN\n",
     {outcome::kind::error, 13, "?|0||||-|-|", "malformed AUTH id", true}},
    {"auth id overflow",
     "AUTH\t99999999999\tPLAIN\n",
     {outcome::kind::error, 23, "?|0||||-|-|", "malformed AUTH id", true}},
    {"auth no mech",
     "AUTH\t5\n",
     {outcome::kind::error, 7, "AUTH|5||||-|-|", "AUTH without mechanism", false}},
    {"cont no data",
     "CONT\t5\n",
     {outcome::kind::error, 7, "CONT|5||||-|-|", "CONT without data", false}},
    {"cont no id", "CONT\n", {outcome::kind::error, 5, "?|0||||-|-|", "malformed CONT id", true}},
};

}  // namespace

TEST_CASE("dovecot auth: commands, buffered and one byte at a time") {
    for (const auto& c : cases) {
        CAPTURE(c.name);
        outcome want = c.want;
        want.consumed = c.input.size();  // every case is one complete line
        auto got = summarize(parse_dovecot_auth_line(c.input));
        CHECK(got == want);
        test::check_trickle(c.input, want, [](std::string_view b) {
            return summarize(parse_dovecot_auth_line(b));
        });
    }
}

TEST_CASE("dovecot auth: pipelined lines are parsed one at a time") {
    std::string buf = "VERSION\t1\t0\nCPID\t9\nAUTH\t1\tPLAIN\tservice=smtp\n";
    auto a = parse_dovecot_auth_line(buf);
    REQUIRE(a.what == dovecot_auth_parse::kind::request);
    CHECK(a.request.what == dovecot_auth_command::verb::version);
    buf.erase(0, a.consumed);
    auto b = parse_dovecot_auth_line(buf);
    CHECK(b.request.what == dovecot_auth_command::verb::cpid);
    buf.erase(0, b.consumed);
    auto c = parse_dovecot_auth_line(buf);
    CHECK(c.request.what == dovecot_auth_command::verb::auth);
    CHECK(c.consumed == buf.size());
}

TEST_CASE("dovecot auth: overlong lines are fatal, at the limit they are fine") {
    std::string longest = "CONT\t1\t" + std::string(dovecot_auth_max_line - 8, 'A') + "\n";
    REQUIRE(longest.size() == dovecot_auth_max_line);
    CHECK(parse_dovecot_auth_line(longest).what == dovecot_auth_parse::kind::request);
    std::string over = "CONT\t1\t" + std::string(dovecot_auth_max_line, 'A');
    auto r = parse_dovecot_auth_line(over);
    CHECK(r.what == dovecot_auth_parse::kind::error);
    CHECK(r.fatal);
    CHECK(r.consumed == dovecot_auth_max_line);
    auto with_lf = parse_dovecot_auth_line(over + "\n");
    CHECK(with_lf.fatal);
    CHECK(with_lf.consumed == dovecot_auth_max_line);
}

TEST_CASE("dovecot auth: replies as Postfix expects them") {
    CHECK(encode_dovecot_handshake({{"PLAIN", {"plaintext"}}, {"LOGIN", {"plaintext"}}}, 42, 7,
                                   "00112233445566778899aabbccddeeff") ==
          "VERSION\t1\t2\nMECH\tPLAIN\tplaintext\nMECH\tLOGIN\tplaintext\nSPID\t42\nCUID\t7\n"
          "COOKIE\t00112233445566778899aabbccddeeff\nDONE\n");
    CHECK(encode_dovecot_ok(1, "joe@example.com") == "OK\t1\tuser=joe@example.com\n");
    CHECK(encode_dovecot_cont(2, "") == "CONT\t2\t\n");
    CHECK(encode_dovecot_cont(2, "VXNlcm5hbWU6") == "CONT\t2\tVXNlcm5hbWU6\n");
    CHECK(encode_dovecot_fail(3, "Authentication failed") ==
          "FAIL\t3\treason=Authentication failed\n");
    CHECK(encode_dovecot_fail(3, "a\tb\nc", "x\ty") == "FAIL\t3\tuser=x?y\treason=a?b?c\n");
    CHECK(encode_dovecot_ok(4, "evil\nOK\t5") == "OK\t4\tuser=evil?OK?5\n");
}

TEST_CASE("PLAIN messages") {
    auto m = parse_plain_message("\0joe@example.com\0s3cret"s);
    REQUIRE(m);
    CHECK(m->authzid.empty());
    CHECK(m->authcid == "joe@example.com");
    CHECK(m->password == "s3cret");
    auto z = parse_plain_message("boss\0joe\0pw"s);
    REQUIRE(z);
    CHECK(z->authzid == "boss");
    CHECK_FALSE(parse_plain_message("joe\0pw"s));
    CHECK_FALSE(parse_plain_message("\0joe\0pw\0"s));
    CHECK_FALSE(parse_plain_message("\0\0pw"s));
    CHECK_FALSE(parse_plain_message("\0joe\0"s));
    CHECK_FALSE(parse_plain_message(""));
}
