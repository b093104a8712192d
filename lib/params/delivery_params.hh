// SPDX-License-Identifier: Apache-2.0
// delivery_params.hh - the parameters of the delivery agents, documented in vhostmail-lmtpd(8)
// and vhostmail-deliver(8). deliver_* are shared by vhostmail-deliver and vhostmail-lmtpd (both
// declare them); lmtpd_* are the LMTP server's own (listener tag "lmtp").
#pragma once

#include <string>
#include <vector>

#include "lib/config/server_params.hh"

namespace vhostmail::params {

// deliver_mail_base, deliver_hostname, deliver_over_quota_reply, deliver_filter_*,
// deliver_command_*, deliver_sendmail_command, deliver_vacation_addresses, ...
void declare_delivery_params(config::param_table& table);

// lmtpd_listen, lmtpd_idle_timeout, lmtpd_data_timeout, lmtpd_max_recipients (+ the above).
void declare_lmtpd_params(config::param_table& table);

// Cross-parameter checks: mail base absolute, sendmail command splittable and absolute, the
// command user.
std::vector<std::string> validate_delivery(const config::config& cfg);

extern const config::daemon_params lmtpd;

}  // namespace vhostmail::params
