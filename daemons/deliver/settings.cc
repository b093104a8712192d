// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/settings.hh"

#include <unistd.h>

#include "lib/core/strings.hh"
#include "lib/os/command.hh"
#include "lib/vhost/routing_settings.hh"

namespace vhostmail::deliver {

delivery_settings delivery_settings_from(const config::config& cfg) {
    delivery_settings s;
    s.hostname = cfg.get_string("deliver_hostname");
    if (s.hostname.empty()) {
        char host[256] = {};
        ::gethostname(host, sizeof host - 1);
        s.hostname = host;
    }
    s.over_quota_permanent = cfg.get_string("deliver_over_quota_reply") == "permanent";
    s.filter_time_limit = cfg.get_duration("deliver_filter_time_limit");
    s.filter_max_output = cfg.get_size("deliver_filter_max_output");
    s.command_time_limit = cfg.get_duration("deliver_command_time_limit");
    s.command_as_daemon_user = cfg.get_bool("deliver_command_as_daemon_user");
    s.expansion_filter = cfg.get_string("deliver_command_expansion_filter");
    s.command_limits.memory = cfg.get_size("deliver_command_memory_limit");
    s.command_limits.file_size = cfg.get_size("deliver_command_file_size_limit");
    s.command_limits.processes =
        static_cast<uint32_t>(cfg.get_int("deliver_command_process_limit"));
    s.sendmail = os::split_command(cfg.get_string("deliver_sendmail_command"))
                     .value_or(std::vector<std::string>{});
    for (const auto& a : cfg.get_list("deliver_vacation_addresses")) {
        s.vacation_addresses.push_back(ascii_lower(a));
    }
    s.resolve = vhost::routing_options(cfg);
    return s;
}

}  // namespace vhostmail::deliver
