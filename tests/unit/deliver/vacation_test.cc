// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/vacation.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::deliver;

namespace {

reply_decision decide(const std::string& sender, const std::string& header_text,
                      std::vector<std::string> own = {"joe@example.com"}) {
    auto headers = parse_headers(header_text + "\nbody\n");
    return decide_reply({sender, std::move(own), &headers});
}

}  // namespace

TEST_CASE("RFC 3834: when not to reply", "[vacation]") {
    struct case_t {
        const char* name;
        const char* sender;
        const char* headers;
        reply_decision want;
    };
    auto tc = GENERATE(values<case_t>({
        {"plain", "bob@example.net", "To: Joe <joe@example.com>\n", reply_decision::reply},
        {"cc", "bob@example.net", "To: a@b\nCc: x@y, \"Joe, J\" <JOE@Example.com>\n",
         reply_decision::reply},
        {"extension", "bob@example.net", "To: joe+work@example.com\n", reply_decision::reply},
        {"folded", "bob@example.net", "To: a@b,\n  joe@example.com\n", reply_decision::reply},
        {"resent", "bob@example.net", "To: a@b\nResent-To: joe@example.com\n",
         reply_decision::reply},
        {"null sender", "", "To: joe@example.com\n", reply_decision::null_sender},
        {"null sender <>", "<>", "To: joe@example.com\n", reply_decision::null_sender},
        {"mailer-daemon", "MAILER-DAEMON@example.net", "To: joe@example.com\n",
         reply_decision::system_sender},
        {"owner-", "owner-list@example.net", "To: joe@example.com\n",
         reply_decision::system_sender},
        {"-request", "list-request@example.net", "To: joe@example.com\n",
         reply_decision::system_sender},
        {"self", "Joe@Example.com", "To: joe@example.com\n", reply_decision::self},
        {"auto-submitted", "bob@example.net", "To: joe@example.com\nAuto-Submitted: auto-replied\n",
         reply_decision::auto_submitted},
        {"auto-submitted no", "bob@example.net", "To: joe@example.com\nAuto-Submitted: no\n",
         reply_decision::reply},
        {"list-id", "bob@example.net", "To: joe@example.com\nList-Id: <l.example.net>\n",
         reply_decision::list},
        {"list-unsubscribe", "bob@example.net",
         "To: joe@example.com\nList-Unsubscribe: <mailto:x@y>\n", reply_decision::list},
        {"precedence bulk", "bob@example.net", "To: joe@example.com\nPrecedence: Bulk\n",
         reply_decision::bulk},
        {"precedence junk", "bob@example.net", "To: joe@example.com\nPrecedence: junk\n",
         reply_decision::bulk},
        {"ms suppress", "bob@example.net", "To: joe@example.com\nX-Auto-Response-Suppress: OOF\n",
         reply_decision::suppressed},
        {"bcc'd", "bob@example.net", "To: other@example.com\n", reply_decision::not_addressed},
        {"no to", "bob@example.net", "Subject: x\n", reply_decision::not_addressed},
    }));
    CAPTURE(tc.name);
    CHECK(decide(tc.sender, tc.headers) == tc.want);
}

TEST_CASE("RFC 3834: configured extra addresses count as addressed", "[vacation]") {
    CHECK(decide("bob@example.net", "To: team@example.com\n",
                 {"joe@example.com", "team@example.com"}) == reply_decision::reply);
}

TEST_CASE("the auto-reply message", "[vacation]") {
    auto orig = parse_headers(
        "Subject: Lunch?\nMessage-ID: <m1@example.net>\nReferences: <m0@example.net>\n\nx\n");
    reply_content c{"joe@example.com", "bob@example.net", "", "I am away.\r\nBack soon.",
                    "mx.example.com", 1700000000};
    auto msg = compose_reply(c, orig);
    auto h = parse_headers(msg);
    CHECK(find_header(h, "From") == "<joe@example.com>");
    CHECK(find_header(h, "To") == "<bob@example.net>");
    CHECK(find_header(h, "Subject") == "Auto: Lunch?");
    CHECK(find_header(h, "Auto-Submitted") == "auto-replied");
    CHECK(find_header(h, "In-Reply-To") == "<m1@example.net>");
    CHECK(find_header(h, "References") == "<m0@example.net> <m1@example.net>");
    CHECK(find_header(h, "Date") == "Tue, 14 Nov 2023 22:13:20 +0000");
    CHECK(find_header(h, "Message-ID"));
    CHECK(msg.find("\n\nI am away.\nBack soon.\n") != std::string::npos);
    CHECK(msg.find('\r') == std::string::npos);

    c.subject = "Abwesend: Grüße";
    auto enc = parse_headers(compose_reply(c, {}));
    CHECK(find_header(enc, "Subject").value().rfind("=?UTF-8?B?", 0) == 0);
    CHECK_FALSE(find_header(enc, "In-Reply-To"));

    c.subject = "evil\nBcc: x@y";
    auto evil = parse_headers(compose_reply(c, {}));
    CHECK_FALSE(find_header(evil, "Bcc"));
}

TEST_CASE("header parsing", "[vacation]") {
    auto h = parse_headers("A: 1\r\nB:  two\r\n  folded\r\nnot a header\nC: 3\n");
    REQUIRE(h.size() == 2);
    CHECK(h[1].value == "two folded");
    CHECK(parse_headers("\nA: 1\n").empty());
    CHECK(header_addresses("Joe <a@B>, c@d, \"x, y\" <e@f> (comment, z@z), grp: g@h, i@j;") ==
          std::vector<std::string>{"a@b", "c@d", "e@f", "g@h", "i@j"});
}
