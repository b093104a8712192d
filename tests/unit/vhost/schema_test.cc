// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/schema.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::vhost;

TEST_CASE("full names normalize like local parts") {
    CHECK(normalize_full_name("Joe Who") == "joe.who");
    CHECK(normalize_full_name("  Joe   van-Who ") == "joe.van.who");
    CHECK(normalize_full_name("joe.who") == "joe.who");
    CHECK(normalize_full_name("J\xc3\xb6rg M\xc3\xbcller") == "j\xc3\xb6rg.m\xc3\xbcller");
    CHECK(normalize_full_name("---").empty());
}

TEST_CASE("login sets parse MariaDB SET values") {
    CHECK(parse_login_set("smtp,imap") == (login_smtp | login_imap));
    CHECK(parse_login_set("") == 0);
    CHECK(parse_login_set("pop3,sieve,bogus") == (login_pop3 | login_sieve));
    CHECK(login_set_bits(0) == 0);
    CHECK(login_set_bits(1 | 4) == (login_smtp | login_pop3));
    CHECK(login_set_bits(15) == (login_smtp | login_imap | login_pop3 | login_sieve));
}

TEST_CASE("vacation windows honour start and end") {
    vacation_window w{true, 100, 200};
    CHECK_FALSE(w.active_at(99));
    CHECK(w.active_at(100));
    CHECK_FALSE(w.active_at(200));
    w.enabled = false;
    CHECK_FALSE(w.active_at(150));
    CHECK(vacation_window{true, std::nullopt, std::nullopt}.active_at(0));
}

TEST_CASE("local parts that cannot name a Maildir of their own are not storable") {
    CHECK(storable_local_part("joe"));
    CHECK(storable_local_part(".hidden"));
    CHECK_FALSE(storable_local_part("joe/cur"));
    CHECK_FALSE(storable_local_part("."));
    CHECK_FALSE(storable_local_part(".."));
    CHECK_FALSE(storable_local_part(""));
    CHECK(default_maildir("x.org", "joe") == "x.org/joe/");
    CHECK(default_maildir("x.org", "joe/cur") == "");  // refused by the path check at delivery
    CHECK(default_maildir("x.org", "..") == "");
}
