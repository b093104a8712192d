// SPDX-License-Identifier: Apache-2.0
#include "lib/store/maildir.hh"

#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <utime.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "lib/store/mailbox_path.hh"
#include "lib/store/quota.hh"
#include "tests/unit/store/temp_dir.hh"

using namespace vhostmail;
using namespace vhostmail::store;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> names(const std::string& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir)) {
        out.push_back(e.path().filename().string());
    }
    return out;
}

std::string slurp(const std::string& path) {
    std::ifstream f(path);
    std::stringstream s;
    s << f.rdbuf();
    return s.str();
}

maildir open_md(const test::temp_dir& base) {
    auto fd = base.open();
    auto r = open_beneath(fd.get(), {"d", "u"}, true);
    return maildir(std::move(r.fd), true);
}

}  // namespace

TEST_CASE("maildir host names are escaped", "[store]") {
    CHECK(maildir_host("mx1.example.com") == "mx1.example.com");
    CHECK(maildir_host("a/b:c") == "a\\057b\\072c");
    CHECK(maildir_host("") == "localhost");
}

TEST_CASE("rfc822 size counts bare LFs twice", "[store]") {
    CHECK(rfc822_size("a\n", "b\r\nc\n") == 7 + 2);
}

// Runs a test once with unnamed tmp/ files (the default) and once the classic way.
struct both_tmp_ways {
    bool unnamed = GENERATE(true, false);
    both_tmp_ways() { maildir::use_unnamed_tmp_files(unnamed); }
    ~both_tmp_ways() {
        if (unnamed && !maildir::unnamed_tmp_files_in_use()) {
            WARN("this file system refused O_TMPFILE: only the named way was tested");
        }
        maildir::use_unnamed_tmp_files(true);
    }
};

TEST_CASE("a delivery lands in new/ with its size in the name, nothing left in tmp/",
          "[store]") {
    both_tmp_ways way;
    test::temp_dir base;
    auto md = open_md(base);
    REQUIRE(md.ok());
    std::vector<std::string> stages;
    auto d = md.deliver("Return-Path: <a@b>\n", "Subject: x\n\nbody\n", "mx",
                        [&](std::string_view s) { stages.emplace_back(s); });
    REQUIRE(d.error.ok());
    CHECK(stages == std::vector<std::string>{"tmp-written", "synced", "linked"});
    std::string dir = base.path() + "/d/u";
    auto in_new = names(dir + "/new");
    REQUIRE(in_new.size() == 1);
    CHECK(in_new[0] == d.name);
    CHECK(in_new[0].find(",S=" + std::to_string(d.size) + ",W=") != std::string::npos);
    CHECK(in_new[0].find(':') == std::string::npos);
    CHECK(size_from_name(in_new[0]) == d.size);
    CHECK(names(dir + "/tmp").empty());
    CHECK(fs::is_directory(dir + "/cur"));
    CHECK(slurp(dir + "/new/" + in_new[0]) == "Return-Path: <a@b>\nSubject: x\n\nbody\n");
    struct stat st {};
    REQUIRE(::stat((dir + "/new/" + in_new[0]).c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    REQUIRE(::stat(dir.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0700);

    auto second = md.deliver("", "x\n", "mx");
    REQUIRE(second.error.ok());
    CHECK(second.name != d.name);
    CHECK(names(dir + "/new").size() == 2);
}

TEST_CASE("a write failure leaves nothing in new/ or tmp/", "[store]") {
    both_tmp_ways way;
    test::temp_dir base;
    auto md = open_md(base);
    REQUIRE(md.ok());
    rlimit old{};
    ::getrlimit(RLIMIT_FSIZE, &old);
    auto prev = ::signal(SIGXFSZ, SIG_IGN);
    rlimit small = old;
    small.rlim_cur = 1000;
    ::setrlimit(RLIMIT_FSIZE, &small);
    auto d = md.deliver("", std::string(5000, 'x'), "mx");
    ::setrlimit(RLIMIT_FSIZE, &old);
    ::signal(SIGXFSZ, prev);
    CHECK_FALSE(d.error.ok());
    CHECK(d.error.error == EFBIG);
    CHECK(names(base.path() + "/d/u/new").empty());
    CHECK(names(base.path() + "/d/u/tmp").empty());
}

TEST_CASE("an unwritable Maildir is an error, not a crash", "[store]") {
    if (::geteuid() == 0) {
        WARN("root ignores permissions: not tested");
        return;
    }
    both_tmp_ways way;
    test::temp_dir base;
    auto md = open_md(base);
    fs::permissions(base.path() + "/d/u/tmp", fs::perms::owner_read | fs::perms::owner_exec);
    auto d = md.deliver("", "x\n", "mx");
    CHECK_FALSE(d.error.ok());
    CHECK(names(base.path() + "/d/u/new").empty());
}

TEST_CASE("stale tmp files are removed after 36 hours, fresh ones kept", "[store]") {
    test::temp_dir base;
    auto md = open_md(base);
    std::string tmp = base.path() + "/d/u/tmp/";
    std::ofstream(tmp + "old").put('x');
    std::ofstream(tmp + "fresh").put('x');
    std::time_t now = std::time(nullptr);
    utimbuf times{now - 37 * 3600, now - 37 * 3600};
    ::utime((tmp + "old").c_str(), &times);
    CHECK(md.clean_tmp(now) == 1);
    CHECK(names(base.path() + "/d/u/tmp") == std::vector<std::string>{"fresh"});
}

TEST_CASE("tmp/ is scanned at most once per interval per Maildir", "[store]") {
    test::temp_dir base, other_base;
    auto md = open_md(base);
    auto other = open_md(other_base);
    std::time_t now = std::time(nullptr);
    CHECK(md.tmp_scan_due(now));
    CHECK_FALSE(md.tmp_scan_due(now + 10));
    CHECK_FALSE(open_md(base).tmp_scan_due(now + 3599));  // the same Maildir opened anew
    CHECK(other.tmp_scan_due(now + 10));
    CHECK(md.tmp_scan_due(now + 3600));
    CHECK_FALSE(md.tmp_scan_due(now + 3601));
    CHECK(md.tmp_scan_due(now - 10));  // the clock went back: scan rather than wait an hour
}
