// SPDX-License-Identifier: Apache-2.0
// errors.cc - the temporary/permanent error table (documented in errors.hh).
#include "lib/db/errors.hh"

#include <algorithm>
#include <array>

namespace vhostmail::db {

namespace {

constexpr auto temporary_codes = std::to_array<unsigned>({
    1021,
    1037,
    1038,
    1040,
    1041,
    1047,
    1053,
    1077,
    1152,
    1158,
    1159,
    1160,
    1161,
    1180,
    1184,
    1203,
    1205,
    1213,
    1226,
    1317,
    1615,
    1637,
    1927,
    1969,
    2001,
    2002,
    2003,
    2004,
    2005,
    2006,
    2008,
    2012,
    2013,
    2027,
    2055,
    5013,
    5014,
    local_error::lease_timeout,
    local_error::connection_broken,
    local_error::lock_timeout,
});

constexpr auto breaking_codes = std::to_array<unsigned>({
    1047,
    1053,
    1077,
    1152,
    1158,
    1159,
    1160,
    1161,
    1180,
    1184,
    1927,
    2006,
    2013,
    2014,
    2027,
    2055,
    5013,
    5014,
    local_error::connection_broken,
});

template <size_t n>
bool in_table(const std::array<unsigned, n>& table, unsigned code) {
    return std::find(table.begin(), table.end(), code) != table.end();
}

}  // namespace

bool is_temporary(unsigned mysql_errno) {
    return in_table(temporary_codes, mysql_errno);
}

bool is_login_refusal(unsigned mysql_errno) {
    return mysql_errno == 1045 || mysql_errno == 1044 || mysql_errno == 1049 || mysql_errno == 1698;
}

bool breaks_connection(unsigned mysql_errno) {
    return in_table(breaking_codes, mysql_errno);
}

namespace {

error_observer the_observer = nullptr;  // set before any thread starts
void* the_observer_context = nullptr;

}  // namespace

void set_error_observer(error_observer observer, void* context) {
    the_observer = observer;
    the_observer_context = context;
}

error make_error(unsigned code, std::string sqlstate, std::string message) {
    error e{code, std::move(sqlstate), std::move(message), is_temporary(code)};
    if (the_observer != nullptr) {
        the_observer(e, the_observer_context);
    }
    return e;
}

const char* error_class(unsigned code) {
    switch (code) {
        case 2002:
        case 2003:
        case 2005:
        case 2012:
            return "unreachable";
        case 1213:
            return "conflict";
        case 1205:
        case 1317:
        case 1969:
        case local_error::lease_timeout:
        case local_error::lock_timeout:
            return "timeout";
        case 1021:
        case 1037:
        case 1038:
        case 1040:
        case 1041:
        case 1203:
        case 1226:
        case 1637:
        case 2001:
        case 2004:
        case 2008:
            return "resources";
        default:
            break;
    }
    if (is_login_refusal(code)) {
        return "login";
    }
    return breaks_connection(code) ? "lost" : "other";
}

std::string describe(const error& e) {
    std::string out = e.temporary ? "temporary error " : "permanent error ";
    out += std::to_string(e.code);
    if (!e.sqlstate.empty()) {
        out += " (" + e.sqlstate + ")";
    }
    out += ": ";
    out += e.message;
    return out;
}

}  // namespace vhostmail::db
