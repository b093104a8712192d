// SPDX-License-Identifier: Apache-2.0
#include "daemons/admin/sql_dump.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::admin;

namespace {

using row = std::vector<std::optional<std::string>>;

}  // namespace

TEST_CASE("dump: CREATE TABLE gives the column order, INSERT the rows") {
    auto d = parse_sql_dump(
        "-- MySQL dump\n/*!40101 SET NAMES utf8 */;\nDROP TABLE IF EXISTS `t`;\n"
        "CREATE TABLE `t` (\n  `a` varchar(10) NOT NULL DEFAULT 'x,y',\n  `b` int(10) DEFAULT"
        " NULL,\n  PRIMARY KEY (`a`),\n  KEY `b` (`b`)\n) ENGINE=InnoDB COMMENT='c;d';\n"
        "LOCK TABLES `t` WRITE;\nINSERT INTO `t` VALUES ('one',1),('two',NULL);\n"
        "INSERT INTO t (b, a) VALUES (3, 'three');\nUNLOCK TABLES;\n");
    REQUIRE(d.error.empty());
    const auto& t = d.tables.at("t");
    CHECK(t.columns == std::vector<std::string>{"a", "b"});
    REQUIRE(t.rows.size() == 3);
    CHECK(t.rows[0] == row{"one", "1"});
    CHECK(t.rows[1] == row{"two", std::nullopt});
    CHECK(t.rows[2] == row{"three", "3"});
}

TEST_CASE("dump: string escapes, doubled quotes, introducers and comments") {
    auto d = parse_sql_dump(
        "CREATE TABLE `v` (`s` text);\n# a comment\n"
        "INSERT IGNORE INTO `v` VALUES ('a\\'b\\nc'),('it''s'),(_binary 'x;y'),(\"dq\"),"
        "('back\\\\slash');\nREPLACE INTO `v` VALUES ('r');");
    REQUIRE(d.error.empty());
    const auto& rows = d.tables.at("v").rows;
    REQUIRE(rows.size() == 6);
    CHECK(rows[0][0] == "a'b\nc");
    CHECK(rows[1][0] == "it's");
    CHECK(rows[2][0] == "x;y");
    CHECK(rows[3][0] == "dq");
    CHECK(rows[4][0] == "back\\slash");
    CHECK(rows[5][0] == "r");
}

TEST_CASE("dump: a broken INSERT is an error naming the statement") {
    for (const char* text : {"CREATE TABLE t (a int);\nINSERT INTO t VALUES (1,2);",
                             "CREATE TABLE t (a text);\nINSERT INTO t VALUES ('unterminated);",
                             "INSERT INTO nowhere VALUES (1);"}) {
        CAPTURE(text);
        auto d = parse_sql_dump(text);
        CHECK_FALSE(d.error.empty());
        CHECK(d.error.starts_with("statement "));
    }
}

TEST_CASE("dump: other statements are skipped, never run") {
    auto d = parse_sql_dump("DROP DATABASE vhostmail;\nUSE vhostmail;\nSET @x = 'a;b';\n");
    CHECK(d.error.empty());
    CHECK(d.tables.empty());
}
