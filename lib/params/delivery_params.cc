// SPDX-License-Identifier: Apache-2.0
#include "lib/params/delivery_params.hh"

#include "lib/os/command.hh"
#include "lib/os/sandbox.hh"

namespace vhostmail::params {

namespace {

std::vector<config::listen_request> lmtpd_listeners(const config::config& cfg) {
    std::vector<config::listen_request> out;
    for (const auto& where : cfg.get_list("lmtpd_listen")) {
        out.push_back({where, "lmtp"});
    }
    return out;
}

}  // namespace

void declare_delivery_params(config::param_table& t) {
    using config::param_type;
    t.add({.name = "deliver_mail_base",
           .type = param_type::string,
           .default_value = "/var/mail/vhosts",
           .doc = "directory the database's Maildir paths are relative to; owned by the delivery"
                  " user (mail_owner_user for lmtpd, pipe(8) user= for deliver)"});
    t.add({.name = "deliver_hostname",
           .type = param_type::string,
           .default_value = "",
           .doc = "host name in Maildir file names and Message-IDs (\"\": gethostname())"});
    t.add({.name = "deliver_over_quota_reply",
           .type = param_type::choice,
           .default_value = "temporary",
           .doc = "over quota at delivery: temporary (452 4.2.2, Postfix retries) or permanent"
                  " (552 5.2.2, Postfix bounces to a sender that may be forged)",
           .choices = {"permanent", "temporary"}});
    t.add({.name = "deliver_filter_time_limit",
           .type = param_type::duration,
           .default_value = "60s",
           .doc = "run time limit of a domain's filter program",
           .min = 100,
           .max = 3600'000});
    t.add({.name = "deliver_filter_max_output",
           .type = param_type::size,
           .default_value = "64m",
           .doc = "largest filtered message accepted from a filter program (more: temporary"
                  " failure)",
           .min = 1024});
    t.add({.name = "deliver_command_time_limit",
           .type = param_type::duration,
           .default_value = "300s",
           .doc = "run time limit of fallback commands and of sendmail",
           .min = 100,
           .max = 3600'000});
    t.add({.name = "deliver_command_user",
           .type = param_type::string,
           .default_value = "",
           .doc = "the dedicated unprivileged user domain filters and fallback commands run as"
                  " (never root, never the daemon's own user); lmtpd must be started as root"
                  " to switch to it; \"\": none (see deliver_command_as_daemon_user)"});
    t.add({.name = "deliver_command_as_daemon_user",
           .type = param_type::boolean,
           .default_value = "no",
           .doc = "without a usable deliver_command_user, run filters and fallback commands as"
                  " the delivery user itself (they can then read every mailbox); no: such mail"
                  " is deferred with a logged error"});
    t.add({.name = "deliver_command_expansion_filter",
           .type = param_type::string,
           .default_value = std::string(os::default_expansion_filter),
           .doc = "characters %d, %u and %f may carry into a fallback command; others become _,"
                  " as does a leading - (Postfix's command_expansion_filter)"});
    t.add({.name = "deliver_command_memory_limit",
           .type = param_type::size,
           .default_value = "1g",
           .doc = "address space of a filter, command or sendmail (RLIMIT_AS); 0: none"});
    t.add({.name = "deliver_command_file_size_limit",
           .type = param_type::size,
           .default_value = "1g",
           .doc = "largest file a filter, command or sendmail may write (RLIMIT_FSIZE); 0: none"});
    t.add({.name = "deliver_command_process_limit",
           .type = param_type::integer,
           .default_value = "100",
           .doc = "processes the command user may have at once (RLIMIT_NPROC, counted over all"
                  " its programs); 0: none",
           .min = 0,
           .max = 100000});
    t.add({.name = "deliver_sendmail_command",
           .type = param_type::string,
           .default_value = "/usr/sbin/sendmail",
           .doc = "Postfix's sendmail (argv, no shell) for auto-replies and forwarding"});
    t.add({.name = "deliver_lmtp_relay",
           .type = param_type::string,
           .default_value = "",
           .doc = "vhostmail-deliver hands messages to this running vhostmail-lmtpd"
                  " (unix:/path) instead of delivering them itself; unreachable: it delivers"
                  " itself"});
    t.add({.name = "deliver_vacation_addresses",
           .type = param_type::list,
           .default_value = "",
           .doc = "further addresses that count as \"addressed to me\" for auto-replies"});
    t.add({.name = "deliver_max_message_size",
           .type = param_type::size,
           .default_value = "50m",
           .doc = "largest message accepted (Postfix message_size_limit)",
           .min = 1024,
           .max = 1LL << 32});
}

void declare_lmtpd_params(config::param_table& t) {
    using config::param_type;
    declare_delivery_params(t);
    t.add({.name = "lmtpd_listen",
           .type = param_type::list,
           .default_value = "unix:/var/spool/postfix/private/vhm-lmtp",
           .doc = "LMTP listeners (unix:/path or host:port)"});
    t.add({.name = "lmtpd_idle_timeout",
           .type = param_type::duration,
           .default_value = "600s",
           .doc = "close a client idle this long between commands",
           .min = 1000,
           .max = 86400'000});
    t.add({.name = "lmtpd_data_timeout",
           .type = param_type::duration,
           .default_value = "600s",
           .doc = "time to receive the whole DATA section",
           .min = 1000,
           .max = 86400'000});
    t.add({.name = "lmtpd_routing_copy",
           .type = param_type::boolean,
           .default_value = "yes",
           .doc = "route from an in-memory copy of the routing data (kept current like"
                  " lookupd's); no: query the database for every message"});
    t.add({.name = "lmtpd_max_staleness",
           .type = param_type::duration,
           .default_value = "1s",
           .doc = "the in-memory copy is used only if proven current this recently; otherwise"
                  " the database is asked directly",
           .min = 100,
           .max = 3600'000});
    t.add({.name = "lmtpd_refresh_interval",
           .type = param_type::duration,
           .default_value = "250ms",
           .doc = "how often the routing change serial is polled",
           .min = 10,
           .max = 3600'000});
    t.add({.name = "lmtpd_transaction_time_limit",
           .type = param_type::duration,
           .default_value = "500s",
           .doc = "recipients of one transaction not started this long after its message arrived"
                  " get 451 4.4.7 (Postfix retries them); keep it below Postfix's"
                  " lmtp_data_done_timeout (600s)",
           .min = 1000,
           .max = 86400'000});
    t.add({.name = "lmtpd_autoreply_retry_interval",
           .type = param_type::duration,
           .default_value = "60s",
           .doc = "how often auto-replies that sendmail did not take are tried again (doubling"
                  " per attempt, at most an hour)",
           .min = 1000,
           .max = 86400'000});
    t.add({.name = "lmtpd_autoreply_lifetime",
           .type = param_type::duration,
           .default_value = "5d",
           .doc = "give up a queued auto-reply after this (Postfix's maximal_queue_lifetime)",
           .min = 60'000,
           .max = 100LL * 86400'000});
    t.add({.name = "lmtpd_max_recipients",
           .type = param_type::integer,
           .default_value = "1000",
           .doc = "recipients per transaction (more get 452 4.5.3)",
           .min = 1,
           .max = 100000});
}

std::vector<std::string> validate_delivery(const config::config& cfg) {
    std::vector<std::string> problems;
    std::string base = cfg.get_string("deliver_mail_base");
    if (base.empty() || base.front() != '/') {
        problems.push_back("deliver_mail_base must be an absolute path");
    }
    auto argv = os::split_command(cfg.get_string("deliver_sendmail_command"));
    if (!argv || argv->empty() || !argv->front().starts_with('/')) {
        problems.push_back("deliver_sendmail_command must be an absolute path with arguments");
    }
    if (std::string user = cfg.get_string("deliver_command_user"); !user.empty()) {
        try {
            // lmtpd checks it against its own user; vhostmail-deliver runs as pipe(8)'s user.
            (void)os::resolve_command_user(
                user, cfg.declared("lmtpd_user") ? cfg.get_string("lmtpd_user") : std::string());
        } catch (const std::exception& e) {
            problems.push_back("deliver_command_user: " + std::string(e.what()));
        }
    }
    return problems;
}

const config::daemon_params lmtpd = {.prefix = "lmtpd_",
                                     .default_max_clients = 100,
                                     .declare = declare_lmtpd_params,
                                     .listeners = lmtpd_listeners,
                                     .validate = validate_delivery};

}  // namespace vhostmail::params
