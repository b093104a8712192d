// SPDX-License-Identifier: Apache-2.0
// migrate_test.cc - the migration script splitter and migration file discovery.
#include "lib/db/migrate.hh"

#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

#include <catch2/catch.hpp>

using namespace vhostmail::db;
namespace fs = std::filesystem;

namespace {

using statements = std::vector<std::string>;

struct split_case {
    const char* name;
    const char* script;
    statements want;
};

// A temporary directory removed at scope exit.
struct temp_dir {
    fs::path path;

    temp_dir() {
        std::string tmpl = (fs::temp_directory_path() / "vhm-db-test-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }

    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }

    void write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
    }
};

}  // namespace

TEST_CASE("scripts split into statements") {
    auto tc = GENERATE(values<split_case>({
        {"empty", "", {}},
        {"blank and comments only", "  \n-- x\n# y\n/* z */\n", {}},
        {"two statements", "SELECT 1;\nSELECT 2;\n", {"SELECT 1", "SELECT 2"}},
        {"last without delimiter", "SELECT 1; SELECT 2", {"SELECT 1", "SELECT 2"}},
        {"empty statements dropped", ";;SELECT 1;;", {"SELECT 1"}},
        {"semicolon in strings",
         "INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`);",
         {"INSERT INTO t VALUES ('a;b', \"c;d\", `e;f`)"}},
        {"backslash escapes", "SELECT 'it\\'s;'; SELECT 2", {"SELECT 'it\\'s;'", "SELECT 2"}},
        {"doubled quotes",
         "SELECT 'it''s;', \"say \"\"hi;\"\"\"; SELECT 2",
         {"SELECT 'it''s;', \"say \"\"hi;\"\"\"", "SELECT 2"}},
        {"backslash is ordinary in backticks",
         "SELECT `a\\`; SELECT 2",
         {"SELECT `a\\`", "SELECT 2"}},
        {"doubled backticks", "SELECT `a``;b`; SELECT 2", {"SELECT `a``;b`", "SELECT 2"}},
        {"dash dash comment", "SELECT 1; -- a; comment\nSELECT 2;", {"SELECT 1", "SELECT 2"}},
        {"dash dash needs a blank", "SELECT 1--1;", {"SELECT 1--1"}},
        {"dash dash at end", "SELECT 1;--", {"SELECT 1"}},
        {"hash comment", "SELECT 1 # x; y\n+ 1;", {"SELECT 1 \n+ 1"}},
        {"block comment", "SELECT/* ; */1;", {"SELECT 1"}},
        {"multi-line block comment", "SELECT 1 /* a;\n b; */ + 2;", {"SELECT 1   + 2"}},
        {"versioned comment kept", "/*!40101 SET x=1 */;", {"/*!40101 SET x=1 */"}},
        {"MariaDB versioned comment kept", "/*M!100100 SET y=2 */;", {"/*M!100100 SET y=2 */"}},
        {"comment markers inside strings",
         "SELECT '-- no', '# no', '/* no */';",
         {"SELECT '-- no', '# no', '/* no */'"}},
        {"delimiter block",
         "DELIMITER //\nCREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END //\nDELIMITER ;\n"
         "SELECT 3;",
         {"CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END", "SELECT 3"}},
        {"delimiter is case-insensitive and may be indented",
         "  delimiter $$\nSELECT 1; SELECT 2$$\n\tDeLiMiTeR ;\nSELECT 3;",
         {"SELECT 1; SELECT 2", "SELECT 3"}},
        {"delimiter only at statement start",
         "SELECT 1\nDELIMITER //\n;",
         {"SELECT 1\nDELIMITER //"}},
        {"delimiter word inside identifiers",
         "SELECT delimiters FROM t;",
         {"SELECT delimiters FROM t"}},
        {"comment inside a delimited body",
         "DELIMITER //\nBEGIN\n  -- note; here\n  SET @a = 1;\nEND //\nDELIMITER ;",
         {"BEGIN\n  \n  SET @a = 1;\nEND"}},
        {"unterminated string ends the script", "SELECT 'abc; SELECT 2", {"SELECT 'abc; SELECT 2"}},
        {"unterminated comment ends the script", "SELECT 1; /* never closed ;", {"SELECT 1"}},
        {"CRLF line ends", "SELECT 1;\r\nSELECT 2;\r\n", {"SELECT 1", "SELECT 2"}},
    }));
    CAPTURE(tc.name, tc.script);
    CHECK(split_sql_script(tc.script) == tc.want);
}

TEST_CASE("the real initial migration splits into its 35 statements") {
    std::ifstream in(fs::path(VHOSTMAIL_SOURCE_DIR) / "sql/migrations/0001_initial.sql");
    REQUIRE(in);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    statements s = split_sql_script(text);
    REQUIRE(s.size() == 35);  // 8 tables + 1 insert + 1 table, 3 procedures, 22 triggers
    CHECK(s[0].starts_with("CREATE TABLE IF NOT EXISTS domains ("));
    CHECK(s[8] == "INSERT IGNORE INTO routing_serial (node, serial) VALUES ('', 1)");
    CHECK(s[10].starts_with("CREATE OR REPLACE PROCEDURE vhm_touch_domain("));
    CHECK(s[10].ends_with("END"));
    CHECK(s[10].find("ON DUPLICATE KEY UPDATE serial = serial + 1;") != std::string::npos);
    CHECK(s.back().starts_with("CREATE OR REPLACE TRIGGER domain_admins_ad"));
    for (const std::string& stmt : s) {
        CAPTURE(stmt);
        CHECK(stmt.find("DELIMITER") == std::string::npos);
        CHECK(stmt.find("--") == std::string::npos);
        CHECK_FALSE(stmt.ends_with(";"));
    }
}

TEST_CASE("migration files are found and ordered by version") {
    temp_dir d;
    d.write("0010_later.sql", "SELECT 10;");
    d.write("0002_second.sql", "SELECT 2;");
    d.write("0001_initial.sql", "SELECT 1;");
    d.write("README", "x");
    d.write("0003_backup.sql~", "x");
    d.write("x_0004.sql", "x");
    d.write("0005_.sql", "x");
    fs::create_directory(d.path / "0006_dir.sql");
    auto files = list_migrations(d.path);
    REQUIRE(files);
    REQUIRE(files->size() == 3);
    CHECK((*files)[0].version == 1);
    CHECK((*files)[0].name == "initial");
    CHECK((*files)[1].version == 2);
    CHECK((*files)[1].name == "second");
    CHECK((*files)[2].version == 10);
    CHECK((*files)[2].path == d.path / "0010_later.sql");

    d.write("02_dup.sql", "SELECT 2;");
    auto dup = list_migrations(d.path);
    REQUIRE_FALSE(dup);
    CHECK_FALSE(dup.error().temporary);
    CHECK(dup.error().code == local_error::migration);

    auto missing = list_migrations(d.path / "nope");
    REQUIRE_FALSE(missing);
    CHECK(missing.error().message.find("cannot list") != std::string::npos);
}

TEST_CASE("the repository's migrations are well-formed") {
    auto files = list_migrations(fs::path(VHOSTMAIL_SOURCE_DIR) / "sql/migrations");
    REQUIRE(files);
    REQUIRE_FALSE(files->empty());
    CHECK(files->front().version == 1);
}
