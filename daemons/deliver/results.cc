// SPDX-License-Identifier: Apache-2.0
// results.cc - the outcome table of delivery (delivery.hh), apart from the delivery core so that
// vhostmail-deliver's thin relay front end can use it without the database layers.
#include "daemons/deliver/delivery.hh"

#include "lib/core/exit_code.hh"

namespace vhostmail::deliver {

delivery_result make_result(dsn::status status, std::string text, int exit) {
    return {status.code, std::string(status.enhanced), std::move(text), exit};
}

delivery_result result_delivered(std::string text) {
    return make_result(dsn::ok, std::move(text), ex_ok);
}

delivery_result result_temp(std::string text, dsn::status status) {
    return make_result(status, std::move(text), ex_tempfail);
}

delivery_result result_no_user(std::string text) {
    return make_result(dsn::user_unknown, std::move(text), ex_nouser);
}

delivery_result result_loop(std::string text) {
    return make_result(dsn::mail_loop, std::move(text), ex_dataerr);
}

delivery_result result_over_quota(bool permanent, std::string text) {
    if (permanent) {
        return make_result(dsn::mailbox_full, std::move(text), ex_cantcreat);
    }
    return make_result(dsn::mailbox_full_temp, std::move(text), ex_tempfail);
}

delivery_result result_too_big(std::string text) {
    return make_result(dsn::too_big, std::move(text), ex_dataerr);
}

}  // namespace vhostmail::deliver
