// SPDX-License-Identifier: Apache-2.0
// The vectors marked "postsrsd" were written by Debian's postsrsd 1.10 (secret file "secret1",
// -d srs.example.net) on day 20794 since the epoch; integration_srs_compat checks the same
// against a postsrsd it starts, every run.
#include "lib/srs/srs.hh"

#include <catch2/catch.hpp>

#include "lib/core/strings.hh"

using namespace vhostmail::srs;

namespace {

constexpr std::time_t day = 86400;
constexpr std::time_t postsrsd_day = 20794 * day + 3600;  // stamp J2

settings srs_settings() {
    settings s;
    s.domain = "srs.example.net";
    return s;
}

codec make(std::vector<std::string> secrets = {"secret1"}, settings s = srs_settings()) {
    return codec(std::move(s), std::move(secrets));
}

}  // namespace

TEST_CASE("srs: forward writes what postsrsd writes") {
    auto c = make();
    CHECK(timestamp(postsrsd_day) == "J2");
    CHECK(c.forward("user@example.com", postsrsd_day) ==
          "SRS0=5KOX=J2=example.com=user@srs.example.net");  // postsrsd
    // The hash folds case; the address keeps it.
    CHECK(c.forward("User@Example.COM", postsrsd_day) ==
          "SRS0=5KOX=J2=Example.COM=User@srs.example.net");  // postsrsd
    CHECK(c.forward("a=b@example.com", postsrsd_day) ==
          "SRS0=oWBR=J2=example.com=a=b@srs.example.net");  // postsrsd
}

TEST_CASE("srs: a second forwarder's SRS0 or SRS1 becomes SRS1 (postsrsd)") {
    auto c = make();
    CHECK(c.forward("SRS0=abcd=AB=example.com=user@other.org", postsrsd_day) ==
          "SRS1=69eE=other.org==abcd=AB=example.com=user@srs.example.net");
    CHECK(c.forward("SRS1=zzzz=other.org==abcd=AB=example.com=user@third.org", postsrsd_day) ==
          "SRS1=69eE=other.org==abcd=AB=example.com=user@srs.example.net");
    auto r =
        c.reverse("SRS1=69eE=other.org==abcd=AB=example.com=user@srs.example.net", postsrsd_day);
    CHECK(r.status == reverse_status::ok);
    CHECK(r.address == "SRS0=abcd=AB=example.com=user@other.org");
    // A malformed SRS1 is left alone, as postsrsd does.
    CHECK_FALSE(c.forward("SRS1=zzzz=other.org@third.org", postsrsd_day));
}

TEST_CASE("srs: reverse reads postsrsd's addresses, in any case") {
    auto c = make();
    const std::string a = "SRS0=5KOX=J2=example.com=user@srs.example.net";
    for (const std::string& form : {a, std::string("srs0=5kox=j2=example.com=user@srs.example.net"),
                                    std::string("SRS0=5KOX=J2=EXAMPLE.COM=USER@SRS.EXAMPLE.NET")}) {
        auto r = c.reverse(form, postsrsd_day);
        INFO(form);
        CHECK(r.status == reverse_status::ok);
        CHECK(vhostmail::ascii_lower(r.address) == "user@example.com");
    }
    CHECK(c.reverse(a, postsrsd_day).address == "user@example.com");
}

TEST_CASE("srs: the first secret signs, every secret verifies") {
    auto rotated = make({"new secret", "secret1"});
    auto r = rotated.reverse("SRS0=5KOX=J2=example.com=user@srs.example.net", postsrsd_day);
    CHECK(r.status == reverse_status::ok);
    auto fresh = rotated.forward("user@example.com", postsrsd_day);
    REQUIRE(fresh);
    CHECK(*fresh != "SRS0=5KOX=J2=example.com=user@srs.example.net");
    CHECK(rotated.reverse(*fresh, postsrsd_day).status == reverse_status::ok);
    CHECK(make().reverse(*fresh, postsrsd_day).status == reverse_status::bad_hash);
}

TEST_CASE("srs: the timestamp window") {
    auto c = make();
    const std::string a = "SRS0=5KOX=J2=example.com=user@srs.example.net";
    CHECK(c.reverse(a, postsrsd_day + 21 * day).status == reverse_status::ok);
    CHECK(c.reverse(a, postsrsd_day + 22 * day).status == reverse_status::expired);
    CHECK(c.reverse(a, postsrsd_day - day).status == reverse_status::expired);  // the future
    // The day counter wraps every 1024 days.
    CHECK(c.reverse(a, postsrsd_day + 1024 * day).status == reverse_status::ok);
    auto s = srs_settings();
    s.max_age_days = 3;
    CHECK(make({"secret1"}, s).reverse(a, postsrsd_day + 4 * day).status ==
          reverse_status::expired);
}

TEST_CASE("srs: forged and damaged addresses are refused") {
    auto c = make();
    auto t = postsrsd_day;
    CHECK(c.reverse("SRS0=XXXX=J2=example.com=user@srs.example.net", t).status ==
          reverse_status::bad_hash);
    CHECK(c.reverse("SRS0=5KOX=J2=example.org=user@srs.example.net", t).status ==
          reverse_status::bad_hash);
    CHECK(c.reverse("SRS0=5KOX=J2=example.com=victim@srs.example.net", t).status ==
          reverse_status::bad_hash);
    CHECK(c.reverse("SRS1=69eE=evil.org==abcd=AB=example.com=user@srs.example.net", t).status ==
          reverse_status::bad_hash);
    CHECK(c.reverse("SRS0=5KO=J2=example.com=user@srs.example.net", t).status ==
          reverse_status::bad_hash);  // shorter than hash_min
    CHECK(c.reverse("SRS0=5KOXY=J2=example.com=user@srs.example.net", t).status ==
          reverse_status::bad_hash);  // longer than hash_length
    CHECK(c.reverse("SRS0=5KOX=J2=example.com=user@other.example", t).status ==
          reverse_status::other_domain);
    CHECK(c.reverse("user@srs.example.net", t).status == reverse_status::not_srs);
    CHECK(c.reverse("SRS2=5KOX=J2=example.com=user@srs.example.net", t).status ==
          reverse_status::not_srs);
    CHECK(c.reverse("SRS0", t).status == reverse_status::not_srs);
    for (const char* bad :
         {"SRS0=5KOX=J2=example.com@srs.example.net", "SRS0=5KOX=J2=example.com=@srs.example.net",
          "SRS0==J2=example.com=user@srs.example.net",
          "SRS0=5KOX=J2X=example.com=user@srs.example.net",
          "SRS0=5KOX=J1=example.com=user@srs.example.net",
          "SRS0=5KOX==example.com=user@srs.example.net", "SRS1=69eE=other.org@srs.example.net",
          "SRS1=69eE@srs.example.net"}) {
        INFO(bad);
        CHECK(c.reverse(bad, t).status == reverse_status::malformed);
    }
}

TEST_CASE("srs: shorter hashes down to hash_min are accepted") {
    auto s = srs_settings();
    s.hash_length = 8;
    s.hash_min = 4;
    auto c = make({"secret1"}, s);
    auto a = c.forward("user@example.com", postsrsd_day);
    REQUIRE(a);
    CHECK(a->substr(0, 9) == "SRS0=5KOX");  // the same hash, longer
    CHECK(c.reverse("SRS0=5KOX=J2=example.com=user@srs.example.net", postsrsd_day).status ==
          reverse_status::ok);
    CHECK(c.reverse("SRS0=5KO=J2=example.com=user@srs.example.net", postsrsd_day).status ==
          reverse_status::bad_hash);
}

TEST_CASE("srs: what is not rewritten") {
    auto c = make();
    auto t = postsrsd_day;
    CHECK_FALSE(c.forward("", t));
    CHECK_FALSE(c.forward("user", t));
    CHECK_FALSE(c.forward("@example.com", t));
    CHECK_FALSE(c.forward("user@", t));
    CHECK_FALSE(c.forward("user@SRS.example.net", t));  // our own domain, our own addresses
    CHECK_FALSE(c.forward("SRS0=5KOX=J2=example.com=user@srs.example.net", t));
    CHECK_FALSE(c.forward("user@exa=mple.com", t));
    CHECK_FALSE(c.forward(std::string(990, 'x') + "@example.com", t));
}

TEST_CASE("srs: separators after the tag") {
    auto s = srs_settings();
    s.separator = '+';
    auto c = make({"secret1"}, s);
    auto a = c.forward("user@example.com", postsrsd_day);
    REQUIRE(a);
    CHECK(a->starts_with("SRS0+5KOX=J2="));
    CHECK(c.reverse(*a, postsrsd_day).address == "user@example.com");
    // Another forwarder's "SRS0-": kept as it is behind our SRS1, and given back so.
    auto b = c.forward("SRS0-abcd=AB=example.com=user@other.org", postsrsd_day);
    REQUIRE(b);
    CHECK(b->starts_with("SRS1+"));
    CHECK(c.reverse(*b, postsrsd_day).address == "SRS0-abcd=AB=example.com=user@other.org");
}

TEST_CASE("srs: forward then reverse gives the sender back") {
    auto c = make({"k1", "k2"});
    for (const char* sender :
         {"a@b.c", "first.last+tag@example.org", "\"quoted@local\"@example.org", "x=y=z@d.e",
          "SRS0=abcd=AB=example.com=user@other.org", "SRS0+abcd=AB=example.com=user@other.org"}) {
        INFO(sender);
        auto f = c.forward(sender, postsrsd_day);
        REQUIRE(f);
        auto r = c.reverse(*f, postsrsd_day + 5 * day);
        CHECK(r.status == reverse_status::ok);
        CHECK(r.address == sender);
    }
}

TEST_CASE("srs: the secret file and the settings") {
    CHECK(parse_secrets("one\r\n\ntwo\nthree") == std::vector<std::string>{"one", "two", "three"});
    CHECK(parse_secrets("\n\r\n").empty());
    CHECK_THROWS_AS(make({}), std::invalid_argument);
    auto s = srs_settings();
    s.domain = "bad domain";
    CHECK_THROWS_AS(make({"k"}, s), std::invalid_argument);
    s = srs_settings();
    s.separator = '_';
    CHECK_THROWS_AS(make({"k"}, s), std::invalid_argument);
    s = srs_settings();
    s.hash_min = 5;
    CHECK_THROWS_AS(make({"k"}, s), std::invalid_argument);
    s = srs_settings();
    s.domain = "SRS.Example.NET";
    CHECK(make({"k"}, s).config().domain == "srs.example.net");
}

TEST_CASE("srs: excluded sender domains are not rewritten") {
    auto s = srs_settings();
    s.exclude_domains = {"mx.example.net", ".internal.example"};
    auto c = make({"secret1"}, s);
    CHECK_FALSE(c.forward("root@MX.example.net", postsrsd_day));
    CHECK_FALSE(c.forward("cron@a.b.internal.example", postsrsd_day));
    CHECK(c.forward("x@internal.example", postsrsd_day));  // ".d" is its subdomains only
    CHECK(c.forward("x@other.example.net", postsrsd_day));
}
