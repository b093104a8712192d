// SPDX-License-Identifier: Apache-2.0
#include "lib/store/quota.hh"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <utime.h>

#include <catch2/catch.hpp>

#include "lib/store/mailbox_path.hh"
#include "lib/store/maildir.hh"

#include "tests/unit/store/temp_dir.hh"

using namespace vhostmail;
using namespace vhostmail::store;

TEST_CASE("maildirsize parses like Courier and Dovecot write it", "[quota]") {
    auto f = parse_maildirsize("1024000S,1000C\n     1638400           17\n2048 1\n-4096 -1\n");
    REQUIRE(f);
    CHECK(f->limits.bytes == 1024000);
    CHECK(f->limits.messages == 1000);
    CHECK(f->usage.bytes == 1638400 + 2048 - 4096);
    CHECK(f->usage.messages == 17);
    CHECK(f->usage_lines == 3);

    auto only_count = parse_maildirsize("100C\n");
    REQUIRE(only_count);
    CHECK(only_count->limits.bytes == 0);
    CHECK(only_count->limits.messages == 100);

    auto bare = parse_maildirsize("5000\n10 1\n");
    REQUIRE(bare);
    CHECK(bare->limits.bytes == 5000);

    auto partial = parse_maildirsize("0S\n10 1\n20 ");
    REQUIRE(partial);
    CHECK(partial->usage.bytes == 10);

    CHECK_FALSE(parse_maildirsize(""));
    CHECK_FALSE(parse_maildirsize("100X\n"));
    CHECK_FALSE(parse_maildirsize("-5S\n"));
    CHECK_FALSE(parse_maildirsize("100S"));
}

TEST_CASE("header and usage lines round-trip", "[quota]") {
    quota_limits l{5000, 7};
    CHECK(format_quota_header(l) == "5000S,7C\n");
    CHECK(format_usage_line(-10, -1) == "-10 -1\n");
    auto f = parse_maildirsize(format_quota_header(l) + format_usage_line(100, 2));
    REQUIRE(f);
    CHECK(f->limits == l);
    CHECK(f->usage.bytes == 100);
}

TEST_CASE("over-quota decisions", "[quota]") {
    CHECK_FALSE(exceeds({0, 0}, {1'000'000, 1000}, 1'000'000));
    CHECK_FALSE(exceeds({1000, 0}, {500, 3}, 500));
    CHECK(exceeds({1000, 0}, {500, 3}, 501));
    CHECK(exceeds({1000, 0}, {1000, 3}, 1));
    CHECK(exceeds({0, 3}, {0, 3}, 1));
    CHECK_FALSE(exceeds({0, 3}, {0, 2}, 1));
    CHECK_FALSE(exceeds({1000, 0}, {-50, -1}, 1000));
    // policyd asks at RCPT, when the size may be unknown (0): a mailbox at its quota is full.
    CHECK_FALSE(exceeds({1000, 10}, {900, 9}, 0));
    CHECK(exceeds({1000, 10}, {1000, 9}, 0));
    CHECK(exceeds({1000, 10}, {0, 10}, 1));
}

TEST_CASE("recalculation rules", "[quota]") {
    quota_limits l{1000, 10};
    auto ok = parse_maildirsize("1000S,10C\n100 1\n");
    CHECK(needs_recalc(std::nullopt, 0, 0, l));
    CHECK_FALSE(needs_recalc(ok, 20, 0, l));
    CHECK(needs_recalc(ok, 5120, 0, l));
    CHECK(needs_recalc(ok, 20, 0, quota_limits{2000, 10}));
    CHECK(needs_recalc(parse_maildirsize("1000S,10C\n-100 -1\n"), 20, 0, l));
    auto over_one = parse_maildirsize("1000S,10C\n2000 1\n");
    CHECK_FALSE(needs_recalc(over_one, 20, 60, l));
    CHECK(needs_recalc(over_one, 20, 15 * 60, l));
    CHECK(needs_recalc(parse_maildirsize("1000S,10C\n900 1\n200 1\n"), 20, 0, l));
}

TEST_CASE("size_from_name reads ,S= before the flags", "[quota]") {
    CHECK(size_from_name("1.M1P2.host,S=2048,W=2101:2,S") == 2048u);
    CHECK(size_from_name("1.M1P2.host,S=12") == 12u);
    CHECK_FALSE(size_from_name("1.M1P2.host"));
    CHECK_FALSE(size_from_name("1.M1P2.host,S=x"));
}

TEST_CASE("read_quota recalculates from the Maildir and appends stay consistent", "[quota]") {
    test::temp_dir base;
    auto bfd = base.open();
    auto opened = open_beneath(bfd.get(), {"m"}, true);
    maildir md(std::move(opened.fd), true);
    REQUIRE(md.ok());
    auto a = md.deliver("", std::string(100, 'a'), "h");
    auto b = md.deliver("", std::string(50, 'b'), "h");
    REQUIRE(a.error.ok());
    REQUIRE(b.error.ok());
    std::filesystem::create_directories(base.path() + "/m/.Sent/cur");
    std::ofstream(base.path() + "/m/.Sent/cur/1.x.h,S=30:2,S") << "x";
    std::filesystem::create_directories(base.path() + "/m/.Trash/cur");
    std::ofstream(base.path() + "/m/.Trash/cur/1.y.h,S=999:2,S") << "x";
    std::ofstream(base.path() + "/m/cur/2.z.h:2,S") << std::string(7, 'z');  // no S=: stat

    quota_limits l{10000, 100};
    auto r = read_quota(md.dir_fd(), l, std::time(nullptr));
    CHECK(r.error == 0);
    CHECK(r.recalculated);
    CHECK(r.usage.bytes == 100 + 50 + 30 + 999 + 7);  // .Trash counts, as in Dovecot
    CHECK(r.usage.messages == 5);

    CHECK(append_usage(md.dir_fd(), 20, 1) == 0);
    auto again = read_quota(md.dir_fd(), l, std::time(nullptr));
    CHECK_FALSE(again.recalculated);
    CHECK(again.usage.bytes == 1206);
    CHECK(again.usage.messages == 6);

    auto changed = read_quota(md.dir_fd(), quota_limits{20000, 0}, std::time(nullptr));
    CHECK(changed.recalculated);  // the database's limit differs from the file's
    std::ifstream f(base.path() + "/m/maildirsize");
    std::string header;
    std::getline(f, header);
    CHECK(header == "20000S,0C");
}

// Dovecot 2.3's maildir quota backend (quota-maildir.c) recalculates over every mailbox its
// quota_rule does not ignore: with the stock "quota = maildir:User quota", Trash and its
// subfolders too. Checked against doveadm quota recalc by the integration test
// tests/integration/deliver/run_quota_dovecot_test.py.
TEST_CASE("recalculation counts every folder, .Trash too, as Dovecot does", "[quota]") {
    test::temp_dir base;
    auto bfd = base.open();
    auto opened = open_beneath(bfd.get(), {"m"}, true);
    maildir md(std::move(opened.fd), true);
    REQUIRE(md.ok());
    for (const char* folder : {".Trash", ".Trash.Old", ".Archive"}) {
        std::filesystem::create_directories(base.path() + "/m/" + folder + "/new");
        std::filesystem::create_directories(base.path() + "/m/" + folder + "/cur");
    }
    std::ofstream(base.path() + "/m/.Trash/cur/1.a.h,S=400,W=410:2,ST") << "x";
    std::ofstream(base.path() + "/m/.Trash/new/2.b.h,S=300,W=305") << "x";
    std::ofstream(base.path() + "/m/.Trash.Old/cur/3.c.h,S=20:2,S") << "x";
    std::ofstream(base.path() + "/m/.Archive/cur/4.d.h,S=5:2,") << "x";
    auto r = scan_maildir(md.dir_fd());
    CHECK(r.error == 0);
    CHECK(r.usage.bytes == 400 + 300 + 20 + 5);
    CHECK(r.usage.messages == 4);
}

// The header forms Dovecot writes: "<bytes>S" without ",0C", "<count>C" without "0S", and "0S"
// when it recalculated a mailbox with no limits known (no quota_rule and no maildirsize).
TEST_CASE("maildirsize headers as Dovecot writes them", "[quota]") {
    quota_limits db{8000, 12};
    auto same = parse_maildirsize("8000S,12C\n5445 9\n");
    REQUIRE(same);
    CHECK_FALSE(needs_recalc(same, 17, 0, db));
    auto bytes_only = parse_maildirsize("8000S\n100 1\n");
    REQUIRE(bytes_only);
    CHECK_FALSE(needs_recalc(bytes_only, 14, 0, quota_limits{8000, 0}));
    auto count_only = parse_maildirsize("12C\n100 1\n");
    REQUIRE(count_only);
    CHECK_FALSE(needs_recalc(count_only, 12, 0, quota_limits{0, 12}));
    auto no_limits = parse_maildirsize("0S\n5445 9\n");
    REQUIRE(no_limits);
    CHECK(no_limits->limits.unlimited());
    CHECK(needs_recalc(no_limits, 10, 0, db));  // put the database's limits back
}

TEST_CASE("read_quota refuses a symlinked maildirsize", "[quota]") {
    test::temp_dir base;
    auto bfd = base.open();
    auto opened = open_beneath(bfd.get(), {"m"}, true);
    maildir md(std::move(opened.fd), true);
    REQUIRE(::symlink("/etc/passwd", (base.path() + "/m/maildirsize").c_str()) == 0);
    auto r = read_quota(md.dir_fd(), {1000, 0}, std::time(nullptr));
    CHECK(r.error != 0);
}
