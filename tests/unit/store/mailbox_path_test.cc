// SPDX-License-Identifier: Apache-2.0
#include "lib/store/mailbox_path.hh"

#include <errno.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "tests/unit/store/temp_dir.hh"

using namespace vhostmail::store;

TEST_CASE("mailbox paths are relative and stay beneath the base", "[store]") {
    struct case_t {
        const char* path;
        bool ok;
        size_t components;
    };
    auto tc = GENERATE(values<case_t>({
        {"blobber.org/xandros/", true, 2},
        {"blobber.org//xandros", true, 2},
        {"a", true, 1},
        {"", false, 0},
        {"/", false, 0},
        {"/etc/passwd", false, 0},
        {"../x", false, 0},
        {"a/../../x", false, 0},
        {"a/./b", false, 0},
        {"a/..", false, 0},
        {"a\nb", false, 0},
        {"a\x7f", false, 0},
        {"//", false, 0},
    }));
    CAPTURE(tc.path);
    auto r = check_mailbox_path(tc.path);
    CHECK(r.ok() == tc.ok);
    CHECK(r.components.size() == tc.components);
}

TEST_CASE("mailbox path length and depth are bounded", "[store]") {
    CHECK_FALSE(check_mailbox_path(std::string(2000, 'a')).ok());
    std::string deep;
    for (int i = 0; i < 40; ++i) {
        deep += "d/";
    }
    CHECK_FALSE(check_mailbox_path(deep).ok());
    CHECK_FALSE(check_mailbox_path(std::string(300, 'a')).ok());
}

TEST_CASE("open_beneath creates directories and refuses symlinks", "[store]") {
    vhostmail::test::temp_dir base;
    auto fd = base.open();
    auto made = open_beneath(fd.get(), {"dom", "user"}, true);
    REQUIRE(made.fd);
    CHECK(std::filesystem::is_directory(base.path() + "/dom/user"));

    auto missing = open_beneath(fd.get(), {"nope"}, false);
    CHECK_FALSE(missing.fd);
    CHECK(missing.error == ENOENT);

    std::filesystem::create_directory(base.path() + "/outside");
    REQUIRE(::symlink("/tmp", (base.path() + "/dom/evil").c_str()) == 0);
    auto evil = open_beneath(fd.get(), {"dom", "evil", "x"}, true);
    CHECK_FALSE(evil.fd);
    CHECK((evil.error == ELOOP || evil.error == ENOTDIR));
    CHECK_FALSE(std::filesystem::exists("/tmp/x/tmp"));
}
