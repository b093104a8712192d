// SPDX-License-Identifier: Apache-2.0
// errors_test.cc - the temporary/permanent table and outcome<T>.
#include "lib/db/errors.hh"

#include <algorithm>
#include <string>

#include <catch2/catch.hpp>

using namespace vhostmail::db;

namespace {

struct code_case {
    unsigned code;
    const char* name;
    bool temporary;
    bool breaks;
};

}  // namespace

TEST_CASE("error codes are classified as the header documents") {
    auto tc = GENERATE(values<code_case>({
        {1021, "ER_DISK_FULL", true, false},
        {1037, "ER_OUTOFMEMORY", true, false},
        {1040, "ER_CON_COUNT_ERROR", true, false},
        {1041, "ER_OUT_OF_RESOURCES", true, false},
        {1047, "ER_UNKNOWN_COM_ERROR (WSREP not ready)", true, true},
        {1053, "ER_SERVER_SHUTDOWN", true, true},
        {1077, "ER_NORMAL_SHUTDOWN", true, true},
        {1152, "ER_ABORTING_CONNECTION", true, true},
        {1158, "ER_NET_READ_ERROR", true, true},
        {1159, "ER_NET_READ_INTERRUPTED", true, true},
        {1160, "ER_NET_ERROR_ON_WRITE", true, true},
        {1161, "ER_NET_WRITE_INTERRUPTED", true, true},
        {1180, "ER_ERROR_DURING_COMMIT (not in Primary Component)", true, true},
        {1184, "ER_NEW_ABORTING_CONNECTION", true, true},
        {1203, "ER_TOO_MANY_USER_CONNECTIONS", true, false},
        {1205, "ER_LOCK_WAIT_TIMEOUT", true, false},
        {1213, "ER_LOCK_DEADLOCK", true, false},
        {1226, "ER_USER_LIMIT_REACHED", true, false},
        {1317, "ER_QUERY_INTERRUPTED", true, false},
        {1615, "ER_NEED_REPREPARE", true, false},
        {1637, "ER_TOO_MANY_CONCURRENT_TRXS", true, false},
        {1927, "ER_CONNECTION_KILLED", true, true},
        {1969, "ER_STATEMENT_TIMEOUT", true, false},
        {2001, "CR_SOCKET_CREATE_ERROR", true, false},
        {2002, "CR_CONNECTION_ERROR", true, false},
        {2003, "CR_CONN_HOST_ERROR", true, false},
        {2004, "CR_IPSOCK_ERROR", true, false},
        {2005, "CR_UNKNOWN_HOST", true, false},
        {2006, "CR_SERVER_GONE_ERROR", true, true},
        {2008, "CR_OUT_OF_MEMORY", true, false},
        {2012, "CR_SERVER_HANDSHAKE_ERR", true, false},
        {2013, "CR_SERVER_LOST", true, true},
        {2027, "CR_MALFORMED_PACKET", true, true},
        {2055, "CR_SERVER_LOST_EXTENDED", true, true},
        {5013, "CR_ERR_NET_READ", true, true},
        {5014, "CR_ERR_NET_WRITE", true, true},
        {local_error::lease_timeout, "lease_timeout", true, false},
        {local_error::connection_broken, "connection_broken", true, true},
        {local_error::lock_timeout, "lock_timeout", true, false},
        // permanent
        {0, "no error", false, false},
        {1044, "ER_DBACCESS_DENIED_ERROR", false, false},
        {1045, "ER_ACCESS_DENIED_ERROR", false, false},
        {1049, "ER_BAD_DB_ERROR", false, false},
        {1054, "ER_BAD_FIELD_ERROR", false, false},
        {1062, "ER_DUP_ENTRY", false, false},
        {1064, "ER_PARSE_ERROR", false, false},
        {1129, "ER_HOST_IS_BLOCKED", false, false},
        {1146, "ER_NO_SUCH_TABLE", false, false},
        {1290, "ER_OPTION_PREVENTS_STATEMENT", false, false},
        {1366, "ER_TRUNCATED_WRONG_VALUE_FOR_FIELD", false, false},
        {1452, "ER_NO_REFERENCED_ROW_2", false, false},
        {1836, "ER_READ_ONLY_MODE", false, false},
        {2014, "CR_COMMANDS_OUT_OF_SYNC", false, true},
        {2019, "CR_CANT_READ_CHARSET", false, false},
        {2026, "CR_SSL_CONNECTION_ERROR", false, false},
        {4031, "ER_REFERENCED_TRG_DOES_NOT_EXIST", false, false},
        {local_error::usage, "usage", false, false},
        {local_error::migration, "migration", false, false},
    }));
    CAPTURE(tc.code, tc.name);
    CHECK(is_temporary(tc.code) == tc.temporary);
    CHECK(breaks_connection(tc.code) == tc.breaks);
}

TEST_CASE("make_error fills the temporary flag and describe formats it") {
    error e = make_error(2013, "HY000", "Lost connection to server during query");
    CHECK(e.temporary);
    CHECK(describe(e) == "temporary error 2013 (HY000): Lost connection to server during query");
    error p = make_error(1062, "23000", "Duplicate entry");
    CHECK_FALSE(p.temporary);
    CHECK(describe(p) == "permanent error 1062 (23000): Duplicate entry");
    CHECK(describe(make_error(local_error::usage, "", "x")) == "permanent error 9003: x");
}

TEST_CASE("outcome holds a value or an error") {
    outcome<int> good = 42;
    REQUIRE(good);
    CHECK(*good == 42);
    outcome<int> bad = make_error(1045, "28000", "Access denied");
    REQUIRE_FALSE(bad);
    CHECK(bad.error().code == 1045);
    CHECK_THROWS(bad.value());
    outcome<void> done;
    CHECK(done.ok());
    outcome<void> failed = make_error(2006, "HY000", "gone");
    CHECK_FALSE(failed);
    CHECK(failed.error().temporary);
}

TEST_CASE("a refused login is told apart from an outage") {
    for (unsigned code : {1045u, 1044u, 1049u, 1698u}) {
        CHECK(is_login_refusal(code));
        CHECK_FALSE(is_temporary(code));
    }
    for (unsigned code : {2002u, 2003u, 2013u, 1047u, 1213u}) {
        CHECK_FALSE(is_login_refusal(code));
    }
}

TEST_CASE("error_class: every error has one of the documented classes") {
    CHECK(std::string(error_class(2002)) == "unreachable");
    CHECK(std::string(error_class(2003)) == "unreachable");
    CHECK(std::string(error_class(2013)) == "lost");
    CHECK(std::string(error_class(1180)) == "lost");
    CHECK(std::string(error_class(1213)) == "conflict");
    CHECK(std::string(error_class(1205)) == "timeout");
    CHECK(std::string(error_class(local_error::lease_timeout)) == "timeout");
    CHECK(std::string(error_class(1021)) == "resources");
    CHECK(std::string(error_class(1040)) == "resources");
    CHECK(std::string(error_class(1045)) == "login");
    CHECK(std::string(error_class(1064)) == "other");
    CHECK(std::string(error_class(1062)) == "other");
    for (unsigned code = 1000; code < 10000; ++code) {
        std::string cls = error_class(code);
        CHECK(std::find(std::begin(error_classes), std::end(error_classes), cls) !=
              std::end(error_classes));
    }
}

TEST_CASE("make_error tells the observer") {
    static int seen = 0;
    static unsigned last = 0;
    static int step = 1;
    set_error_observer(
        [](const error& e, void* context) {
            seen += *static_cast<int*>(context);
            last = e.code;
        },
        &step);
    (void)make_error(2013, "HY000", "Lost connection");
    set_error_observer(nullptr, nullptr);
    (void)make_error(2002, "HY000", "refused");
    CHECK(seen == 1);
    CHECK(last == 2013);
}
