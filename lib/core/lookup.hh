// SPDX-License-Identifier: Apache-2.0
// lookup.hh - the three-way answer of every table lookup: found, not found, or temporary failure.
// A temporary failure must reach Postfix as "try again later" (tcp_table 400, socketmap TEMP),
// never as "not found", which would bounce mail.
#pragma once

#include <string>
#include <utility>

namespace vhostmail {

enum class lookup_status { found, not_found, temp_fail };

template <typename T>
struct lookup {
    lookup_status status = lookup_status::not_found;
    T value{};
    std::string reason;  // why, for temp_fail (logged, sent to Postfix as TEMP text)

    static lookup found(T v) { return {lookup_status::found, std::move(v), {}}; }
    static lookup not_found() { return {lookup_status::not_found, T{}, {}}; }
    static lookup temp_fail(std::string why) {
        return {lookup_status::temp_fail, T{}, std::move(why)};
    }
    bool ok() const { return status == lookup_status::found; }
};

}  // namespace vhostmail
