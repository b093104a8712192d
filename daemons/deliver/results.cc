// SPDX-License-Identifier: Apache-2.0
// results.cc - the outcome table of delivery (delivery.hh), apart from the delivery core so that
// vhostmail-deliver's thin relay front end can use it without the database layers.
#include "daemons/deliver/delivery.hh"

#include "lib/core/exit_code.hh"

namespace vhostmail::deliver {

delivery_result result_delivered(std::string text) {
    return {250, "2.0.0", std::move(text), ex_ok};
}

delivery_result result_temp(std::string text, std::string enhanced) {
    return {451, std::move(enhanced), std::move(text), ex_tempfail};
}

delivery_result result_no_user(std::string text) {
    return {550, "5.1.1", std::move(text), ex_nouser};
}

delivery_result result_loop(std::string text) {
    return {554, "5.4.6", std::move(text), ex_dataerr};
}

delivery_result result_over_quota(bool permanent, std::string text) {
    if (permanent) {
        return {552, "5.2.2", std::move(text), ex_cantcreat};
    }
    return {452, "4.2.2", std::move(text), ex_tempfail};
}

delivery_result result_too_big(std::string text) {
    return {552, "5.3.4", std::move(text), ex_dataerr};
}

}  // namespace vhostmail::deliver
