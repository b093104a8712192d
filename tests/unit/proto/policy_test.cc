// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/policy.hh"

#include <string>

#include <catch2/catch.hpp>

#include "tests/unit/proto/trickle.hh"

using namespace vhostmail::proto;
using namespace std::string_literals;
using test::outcome;

namespace {

outcome summarize(const policy_parse& r) {
    outcome o;
    switch (r.what) {
        case policy_parse::kind::need_more:
            return o;
        case policy_parse::kind::request:
            o.what = outcome::kind::value;
            for (const auto& [n, v] : r.request.attributes) {
                o.value += n + "=" + v + ";";
            }
            break;
        case policy_parse::kind::error:
            o.what = outcome::kind::error;
            o.error = r.error;
            o.fatal = r.fatal;
            break;
    }
    o.consumed = r.consumed;
    return o;
}

outcome parse(std::string_view b) { return summarize(parse_policy_request(b)); }

// The RCPT request of docs/protocols.md 4.2, all 29 attributes in Postfix 3.7's order.
const std::string rcpt_request =
    "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
    "client_address=198.51.100.7\nclient_name=mx.example.net\nclient_port=41234\n"
    "reverse_client_name=mx.example.net\nserver_address=192.0.2.1\nserver_port=587\n"
    "helo_name=mx.example.net\nsender=xandros@blobber.org\nrecipient=friend@example.net\n"
    "recipient_count=0\nqueue_id=\ninstance=2f1e.6650a3c1.8a2b7.0\nsize=2048\netrn_domain=\n"
    "stress=\nsasl_method=PLAIN\nsasl_username=xandros@blobber.org\nsasl_sender=\n"
    "ccert_subject=\nccert_issuer=\nccert_fingerprint=\nccert_pubkey_fingerprint=\n"
    "encryption_protocol=TLSv1.3\nencryption_cipher=TLS_AES_256_GCM_SHA384\n"
    "encryption_keysize=256\npolicy_context=submission\n\n";

}  // namespace

TEST_CASE("policy: Postfix's RCPT request, buffered and one byte at a time") {
    auto r = parse_policy_request(rcpt_request);
    REQUIRE(r.what == policy_parse::kind::request);
    CHECK(r.consumed == rcpt_request.size());
    CHECK(r.request.attributes.size() == 29);
    CHECK(r.request.get("sender") == "xandros@blobber.org");
    CHECK(r.request.get("queue_id").empty());
    CHECK(r.request.has("queue_id"));
    CHECK(!r.request.has("tls_sni"));
    CHECK(r.request.get("policy_context") == "submission");
    test::check_trickle(rcpt_request, parse(rcpt_request), parse);
}

TEST_CASE("policy: several requests on one connection are taken one at a time") {
    std::string two = "request=smtpd_access_policy\nsender=a@b\n\n"
                      "request=smtpd_access_policy\nsender=c@d\n\n";
    auto first = parse_policy_request(two);
    REQUIRE(first.what == policy_parse::kind::request);
    CHECK(first.request.get("sender") == "a@b");
    auto second = parse_policy_request(std::string_view(two).substr(first.consumed));
    REQUIRE(second.what == policy_parse::kind::request);
    CHECK(second.request.get("sender") == "c@d");
    CHECK(first.consumed + second.consumed == two.size());
}

TEST_CASE("policy: values may hold '=' and be empty; CRLF is tolerated; first value wins") {
    auto r = parse_policy_request("request=smtpd_access_policy\r\nccert_subject=CN=x=y\r\n"
                                  "helo_name=\nsender=first\nsender=second\r\n\r\n");
    REQUIRE(r.what == policy_parse::kind::request);
    CHECK(r.request.get("ccert_subject") == "CN=x=y");
    CHECK(r.request.get("helo_name").empty());
    CHECK(r.request.get("sender") == "first");
}

TEST_CASE("policy: malformed requests are answered, the connection survives") {
    struct bad {
        std::string wire, error;
    };
    for (const auto& [wire, error] : {
             bad{"\n", "empty policy request"},
             bad{"request=smtpd_access_policy\nno equals sign\n\n",
                 "policy request line without '='"},
             bad{"request=smtpd_access_policy\n=value\n\n",
                 "policy request attribute without a name"},
             bad{"request=smtpd_access_policy\nsender=a\0b\n\n"s, "NUL byte in policy request"},
             bad{"sender=a@b\n\n", "not an smtpd_access_policy request"},
             bad{"request=junk\n\n", "not an smtpd_access_policy request"},
         }) {
        CAPTURE(wire);
        auto r = parse_policy_request(wire + "request=smtpd_access_policy\n\n");
        CHECK(r.what == policy_parse::kind::error);
        CHECK(r.error == error);
        CHECK(!r.fatal);
        CHECK(r.consumed == wire.size());
        CHECK(r.request.attributes.empty());
        test::check_trickle(wire, parse(wire), parse);
    }
}

TEST_CASE("policy: too many attributes is an answered error; too long a request is fatal") {
    std::string many = "request=smtpd_access_policy\n";
    for (int i = 0; i < 10; ++i) {
        many += "x" + std::to_string(i) + "=1\n";
    }
    many += "\n";
    auto r = parse_policy_request(many, 4096, 5);
    CHECK(r.what == policy_parse::kind::error);
    CHECK(!r.fatal);
    CHECK(r.consumed == many.size());
    CHECK(r.error == "more than 5 policy attributes");

    std::string endless = "request=smtpd_access_policy\nccert_subject=" + std::string(200, 'a');
    auto cut = parse_policy_request(endless, 100);
    CHECK(cut.what == policy_parse::kind::error);
    CHECK(cut.fatal);
    CHECK(cut.consumed == 0);
    CHECK(parse_policy_request(endless.substr(0, 99), 100).what ==
          policy_parse::kind::need_more);
    // Lines that end but never reach the blank line within the limit are fatal, too.
    std::string no_end = "request=smtpd_access_policy\n";
    while (no_end.size() < 120) no_end += "a=b\n";
    CHECK(parse_policy_request(no_end, 100).fatal);
    // Exactly at the limit is fine.
    std::string exact = "request=smtpd_access_policy\n\n";
    CHECK(parse_policy_request(exact, exact.size()).what == policy_parse::kind::request);
    CHECK(parse_policy_request(exact, exact.size() - 1).fatal);
}

TEST_CASE("policy: replies are one action line and a blank line, always valid UTF-8") {
    CHECK(encode_policy_reply("DUNNO") == "action=DUNNO\n\n");
    CHECK(encode_policy_reply("REJECT 5.7.1 no\nway\r") == "action=REJECT 5.7.1 no way \n\n");
    CHECK(encode_policy_reply("DEFER caf\xc3\xa9") == "action=DEFER caf\xc3\xa9\n\n");
    CHECK(encode_policy_reply("DEFER \xff\xc3") == "action=DEFER ??\n\n");
    CHECK(encode_policy_reply("x\xed\xa0\x80y") == "action=x???y\n\n");  // a surrogate
    CHECK(encode_policy_reply("\xf0\x9f\x98\x80") == "action=\xf0\x9f\x98\x80\n\n");
    CHECK(encode_policy_reply("a\0b"s) == "action=a b\n\n");
}
