// SPDX-License-Identifier: Apache-2.0
// statement_test.cc - row conversion helpers and parameter construction.
#include "lib/db/statement.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::db;

TEST_CASE("row helpers convert text columns") {
    row r{{std::string("42"), std::nullopt, std::string("-7"), std::string("x1"),
           std::string("18446744073709551615"), std::string("0"), std::string("0.0"),
           std::string(""), std::string("+5"), std::string("2.5")}};
    CHECK(r.i64(0) == 42);
    CHECK(r.u64(0) == 42);
    CHECK(r.i64(1, 9) == 9);
    CHECK(r.is_null(1));
    CHECK(r.str(1, "dflt") == "dflt");
    CHECK(r.str(0) == "42");
    CHECK(r.i64(2) == -7);
    CHECK(r.u64(2, 3) == 3);
    CHECK(r.i64(3, -1) == -1);
    CHECK_FALSE(r.opt_i64(3));
    CHECK(r.u64(4) == 18446744073709551615ULL);
    CHECK(r.i64(4, 1) == 1);  // out of range
    CHECK(r.i64(8) == 5);
    CHECK_FALSE(r.opt_i64(9));
    CHECK(r.boolean(0));
    CHECK_FALSE(r.boolean(1));
    CHECK_FALSE(r.boolean(5));
    CHECK_FALSE(r.boolean(6));
    CHECK_FALSE(r.boolean(7));
    CHECK(r.boolean(3));
    CHECK(r.boolean(9));
    CHECK_THROWS_AS(r.at(10), std::out_of_range);
}

TEST_CASE("parameters pick the intended alternative") {
    std::vector<param> p{nullptr, 5, uint64_t{7}, 2.5, std::string("text"), int64_t{-1}};
    CHECK(std::holds_alternative<std::nullptr_t>(p[0]));
    CHECK(std::holds_alternative<int64_t>(p[1]));
    CHECK(std::holds_alternative<uint64_t>(p[2]));
    CHECK(std::holds_alternative<double>(p[3]));
    CHECK(std::holds_alternative<std::string>(p[4]));
    param from_literal = "literal";
    CHECK(std::holds_alternative<std::string>(from_literal));
}
