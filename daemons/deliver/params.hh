// SPDX-License-Identifier: Apache-2.0
// params.hh - the parameters of the delivery agents. deliver_* are shared by vhostmail-deliver
// and vhostmail-lmtpd (both declare them); lmtpd_* are the LMTP server's own.
#pragma once

#include <string>
#include <vector>

#include "daemons/deliver/delivery.hh"
#include "lib/config/config.hh"
#include "lib/config/params.hh"
#include "lib/daemon/daemon.hh"

namespace vhostmail::deliver {

// deliver_mail_base, deliver_hostname, deliver_over_quota_reply, deliver_filter_time_limit,
// deliver_filter_max_output, deliver_command_time_limit, deliver_sendmail_command,
// deliver_vacation_addresses, deliver_max_message_size.
void declare_delivery_params(config::param_table& table);

// lmtpd_listen, lmtpd_idle_timeout, lmtpd_data_timeout, lmtpd_max_recipients (+ the above).
void declare_lmtpd_params(config::param_table& table);

std::vector<listen_request> lmtpd_listeners(const config::config& cfg);

// Cross-parameter checks: mail base absolute, sendmail command splittable and absolute.
std::vector<std::string> validate(const config::config& cfg);

// The delivery settings a configuration describes (hostname defaulted from gethostname()).
delivery_settings delivery_settings_from(const config::config& cfg);

}  // namespace vhostmail::deliver
