// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/delivery.hh"

#include <cstring>
#include <errno.h>
#include <map>
#include <optional>

#include "lib/core/address.hh"
#include "lib/core/exit_code.hh"
#include "lib/core/strings.hh"
#include "lib/log/log.hh"
#include "lib/os/command.hh"
#include "lib/srs/srs_config.hh"
#include "lib/store/mailbox_path.hh"
#include "lib/store/quota.hh"

#include "daemons/deliver/vacation.hh"

namespace vhostmail::deliver {

using os::program_options;
using os::program_result;
using os::run_program;
using os::split_command;
using os::substitute_tokens;

delivery_result result_from_exit(int status, std::string_view what) {
    std::string w(what);
    if (status == 0) {
        return result_delivered(w + " accepted the message");
    }
    if (status == ex_tempfail || status == ex_oserr) {
        return result_temp(w + " failed temporarily (exit " + std::to_string(status) + ")");
    }
    if (status == ex_nouser) {
        return make_result(dsn::user_unknown, w + ": user unknown", ex_nouser);
    }
    int exit = status >= 64 && status <= 78 ? status : ex_unavailable;
    return make_result(dsn::program_failed, w + " failed (exit " + std::to_string(status) + ")",
                       exit);
}

namespace {

std::string domain_of(std::string_view address) {
    return ascii_lower(split_address(address).domain);
}

bool has_delivered_to(const std::vector<header_field>& headers, std::string_view address) {
    for (const auto& h : headers) {
        if (iequals(h.name, "Delivered-To") && iequals(trim(h.value), address)) {
            return true;
        }
    }
    return false;
}

// Options for a program the database names (a filter, a fallback command): the command user.
program_options database_program(const delivery_settings& s) {
    program_options o;
    o.as_command_user = true;
    o.may_run_as_self = s.command_as_daemon_user;
    o.limits = s.command_limits;
    return o;
}

// Options for a program the configuration names (sendmail): the daemon's own user.
program_options configured_program(const delivery_settings& s) {
    program_options o;
    o.time_limit = s.command_time_limit;
    o.limits = s.command_limits;  // RLIMIT_NPROC applies to the command user only
    return o;
}

// A program outcome as a delivery result (filters and commands alike).
delivery_result from_program(const program_result& r, std::string_view what) {
    return r.what == program_result::kind::exited ? result_from_exit(r.status, what)
                                                  : result_temp(os::outcome_text(r, what));
}

}  // namespace

std::string delivery_agent::trace_headers(const vhost::destination& d, const envelope& env) const {
    std::string h = "Return-Path: <" + printable(env.sender) + ">\n";
    if (!env.original_recipient.empty() && !iequals(env.original_recipient, d.address)) {
        h += "X-Original-To: " + printable(env.original_recipient) + "\n";
    }
    h += "Delivered-To: " + printable(d.address) + "\n";
    return h;
}

delivery_result delivery_agent::filter(const std::string& domain, const std::string& command,
                                       const envelope& env, std::string_view message,
                                       prepared& out) {
    auto argv = split_command(command);
    if (!argv || argv->empty()) {
        return result_temp("filter of " + domain + " is not a valid command line",
                           dsn::system_config);
    }
    program_options o = database_program(s_);
    o.time_limit = s_.filter_time_limit;
    o.max_output = s_.filter_max_output;
    o.env = {"SENDER=" + env.sender, "DOMAIN=" + domain};
    auto r = run_program(*argv, message, o);
    if (r.what != program_result::kind::exited || r.status != 0) {
        auto res = from_program(r, "filter of " + domain);
        if (res.delivered() || !res.temporary()) {
            res = result_temp(res.text);  // a failing filter never bounces: the mail waits
        }
        return res;
    }
    out.discarded = r.output.empty();
    out.filtered = std::move(r.output);
    return result_delivered("filtered");
}

delivery_result delivery_agent::to_mailbox(const vhost::destination& d, const envelope& env,
                                           std::string_view message,
                                           const std::vector<header_field>& headers) {
    if (has_delivered_to(headers, d.address)) {
        return result_loop("mail forwarding loop for " + d.address);
    }
    auto path = store::check_mailbox_path(d.maildir);
    if (!path.ok()) {
        log::error("mailbox {}: maildir \"{}\" refused: {}", log_field(d.address), d.maildir,
                   path.error);
        return result_temp("mailbox path of " + d.address + " is invalid", dsn::system_config);
    }
    auto opened = store::open_beneath(base_fd_, path.components, true);
    if (!opened.fd) {
        log::warning("mailbox {}: {}", log_field(d.address), opened.what);
        return result_temp("cannot open the mailbox of " + d.address + ": " +
                           std::strerror(opened.error));
    }
    store::maildir md(std::move(opened.fd), true);
    if (!md.ok()) {
        log::warning("mailbox {}: {}", log_field(d.address), md.error().what);
        return result_temp("cannot open the Maildir of " + d.address);
    }
    std::time_t now = std::time(nullptr);
    if (unsigned n = md.tmp_scan_due(now) ? md.clean_tmp(now) : 0) {
        log::info("mailbox {}: removed {} stale file(s) from tmp/", log_field(d.address), n);
    }
    std::string prefix = trace_headers(d, env);
    const store::quota_limits& limits = d.quota;
    store::quota_read usage;
    uint64_t size = prefix.size() + message.size();
    if (!limits.unlimited()) {
        usage = store::read_quota(md.dir_fd(), limits, now);
        if (usage.error != 0) {
            log::warning("mailbox {}: quota: {}", log_field(d.address), usage.what);
            return result_temp("cannot read the quota of " + d.address);
        }
        if (store::exceeds(limits, usage.usage, size)) {
            return result_over_quota(s_.over_quota_permanent, "Mailbox full: " + d.address);
        }
    }
    auto written = md.deliver(prefix, message, s_.hostname, s_.hook);
    if (!written.switched_to_named.empty()) {
        log::warning("unnamed files in tmp/ refused ({}): named tmp/ files from now on",
                     written.switched_to_named);
    }
    if (!written.error.ok()) {
        log::warning("mailbox {}: {}", log_field(d.address), written.error.what);
        return result_temp("cannot write to the mailbox of " + d.address + ": " +
                               std::strerror(written.error.error),
                           written.error.error == ENOSPC || written.error.error == EDQUOT
                               ? dsn::system_full
                               : dsn::local_error);
    }
    if (!limits.unlimited()) {
        if (int e = store::append_usage(md.dir_fd(), static_cast<int64_t>(written.size), 1)) {
            log::warning("mailbox {}: maildirsize: {}", log_field(d.address), std::strerror(e));
        }
        auto rec_usage = store_.record_usage(d.address_id,
                                             usage.usage.bytes + static_cast<int64_t>(written.size),
                                             usage.usage.messages + 1);
        if (!rec_usage.ok) {
            log::warning("mailbox {}: usage record not updated: {}", log_field(d.address),
                         rec_usage.why);
        }
    }
    log::info("to=<{}>, relay=maildir, status=sent (delivered to {}new/{})", log_field(d.address),
              d.maildir, written.name);
    return result_delivered("delivered to " + d.address);
}

delivery_result delivery_agent::to_command(const vhost::destination& d, const envelope& env,
                                           std::string_view message) {
    auto argv = split_command(d.command);
    if (!argv || argv->empty()) {
        return result_temp("fallback command of " + domain_of(d.address) + " is invalid",
                           dsn::system_config);
    }
    if (auto script = os::tokens_in_script(*argv); !script.empty()) {
        log::error(
            "fallback command of {} refused: %d/%u/%f inside the script \"{}\" would run"
            " the values as code; pass them as arguments (vhostmail-lmtpd(8))",
            domain_of(d.address), printable(script));
        return result_temp("fallback command of " + domain_of(d.address) + " is refused",
                           dsn::system_config);
    }
    auto local = split_address(d.address).local;
    auto args =
        substitute_tokens(*argv, {domain_of(d.address), local, env.sender}, s_.expansion_filter);
    program_options o = database_program(s_);
    o.time_limit = s_.command_time_limit;
    o.env = {"SENDER=" + env.sender, "RECIPIENT=" + d.address};
    std::string full = trace_headers(d, env);
    full += message;
    auto r = run_program(args, full, o);
    auto res = from_program(r, "command " + args.front());
    log::info("to=<{}>, relay=command, status={} ({})", log_field(d.address),
              res.delivered()   ? "sent"
              : res.temporary() ? "deferred"
                                : "bounced",
              res.text);
    return res;
}

delivery_result delivery_agent::to_remote(const vhost::destination& d, const envelope& env,
                                          std::string_view message) {
    if (s_.sendmail.empty()) {
        return result_temp("no sendmail configured to forward to " + d.address);
    }
    auto r =
        os::run_sendmail(s_.sendmail, env.sender, {d.address}, message, configured_program(s_));
    if (r.what != program_result::kind::exited || r.status != 0) {
        return result_temp("forwarding to " + d.address + " failed");
    }
    log::info("to=<{}>, relay=sendmail, status=sent (forwarded)", log_field(d.address));
    return result_delivered("forwarded to " + d.address);
}

delivery_result delivery_agent::vacation(const vhost::destination& d, const envelope& env,
                                         const std::vector<header_field>& headers,
                                         const vhost::resolution& res) {
    reply_input in;
    in.envelope_sender = env.sender;
    in.headers = &headers;
    std::string base = d.base_local + "@" + domain_of(d.address);
    for (const auto& a : {d.address, base, env.recipient, env.original_recipient}) {
        if (!a.empty()) {
            in.own_addresses.push_back(ascii_lower(a));
        }
    }
    for (const auto& a : res.visited) {
        in.own_addresses.push_back(ascii_lower(a));
    }
    in.own_addresses.insert(in.own_addresses.end(), s_.vacation_addresses.begin(),
                            s_.vacation_addresses.end());
    auto decision = decide_reply(in);
    if (decision != reply_decision::reply) {
        log::info("vacation {}: no reply to <{}>: {}", base, log_field(env.sender),
                  to_string(decision));
        return result_delivered("no auto-reply: " + std::string(to_string(decision)));
    }
    vacation_text text;
    if (auto r = store_.vacation(d.address_id, text); !r.ok) {
        return result_temp("vacation of " + base + ": " + r.why);
    }
    if (!text.found) {
        return result_delivered("no vacation text");
    }
    // One reply per person: case and +extension variants of a sender are one sender (the same
    // counting key as throttling and rate limits), though the reply goes to the address used.
    std::string sender = address_counting_key(trim(env.sender), s_.resolve.delimiters);
    bool claimed = false;
    if (auto r = store_.claim_reply(d.address_id, sender, text.interval_seconds, claimed); !r.ok) {
        return result_temp("vacation of " + base + ": " + r.why);
    }
    if (!claimed) {
        log::info("vacation {}: <{}> was already answered within {}s", base, log_field(sender),
                  text.interval_seconds);
        return result_delivered("already auto-replied");
    }
    reply_content c{base, env.sender, text.subject, text.body, s_.hostname, std::time(nullptr)};
    std::string reply = compose_reply(c, headers);
    auto r = os::run_sendmail(s_.sendmail, "", {env.sender}, reply, configured_program(s_));
    if (r.what != program_result::kind::exited || r.status != 0) {
        std::string why = os::outcome_text(r, "sendmail");
        if (d.kind == vhost::destination_kind::autoreply) {
            // Nothing was delivered for this destination: retrying it all is safe.
            (void)store_.release_reply(d.address_id, sender);
            return result_temp("auto-reply of " + base + " could not be submitted: " + why);
        }
        // The message is in its Maildir: the reply waits in the outbox for lmtpd to send.
        if (auto q = store_.queue_reply(d.address_id, env.sender, reply, why); q.ok) {
            log::warning(
                "vacation {}: auto-reply to <{}> not submitted ({}): queued for"
                " vhostmail-lmtpd to send",
                base, log_field(env.sender), why);
            return result_delivered("auto-reply queued");
        } else {
            (void)store_.release_reply(d.address_id, sender);
            log::error(
                "vacation {}: auto-reply to <{}> lost: not submitted ({}) and not queued"
                " ({})",
                base, log_field(env.sender), why, q.why);
            return result_delivered("auto-reply lost");
        }
    }
    log::info("vacation {}: auto-reply sent to <{}>", base, log_field(env.sender));
    return result_delivered("auto-replied");
}

void load_srs(delivery_settings& s, const config::config& cfg) {
    auto load = srs::codec_from_config(cfg);
    s.srs = load.loaded;
    s.srs_unavailable.clear();
    if (!load.error.empty()) {
        log::error("{}; mail from SRS senders is deferred until the secrets can be read",
                   load.error);
        s.srs_unavailable = ascii_lower(cfg.get_string("srs_domain"));
    }
}

delivery_result delivery_agent::deliver(const envelope& as_received, std::string_view message,
                                        const std::vector<header_field>& headers) {
    vhost::resolve_options opts = s_.resolve;
    opts.now = std::time(nullptr);
    envelope env = as_received;
    if (!s_.srs_unavailable.empty() &&
        iequals(split_address(env.sender).domain, s_.srs_unavailable)) {
        return result_temp("SRS secrets not readable: the original sender cannot be restored");
    }
    if (s_.srs) {
        if (auto r = s_.srs->reverse(env.sender, opts.now); r.status == srs::reverse_status::ok) {
            env.sender = std::move(r.address);
        }
    }
    auto res = vhost::resolve(dir_, env.recipient, opts);
    if (res.status == lookup_status::temp_fail) {
        log::warning("to=<{}>: lookup failed: {}", log_field(env.recipient), res.reason);
        return result_temp("temporary lookup failure");
    }
    if (res.status == lookup_status::not_found) {
        return result_no_user("<" + env.recipient + ">: User unknown");
    }
    bool any_delivered = false;
    std::optional<delivery_result> first_perm;
    for (const auto& d : res.destinations) {
        delivery_result r = result_delivered("");
        std::string_view body = message;
        if (!d.filter_command.empty()) {
            std::string domain = domain_of(d.address);
            auto [it, fresh] = filtered_.try_emplace(domain);
            if (fresh) {
                it->second.result = filter(domain, d.filter_command, env, message, it->second);
            }
            if (it->second.result.temporary()) {
                log::warning("to=<{}>: {}", log_field(d.address), it->second.result.text);
                return it->second.result;
            }
            if (it->second.discarded) {
                log::info("to=<{}>: discarded by the filter of {}", log_field(d.address), domain);
                any_delivered = true;
                continue;
            }
            body = it->second.filtered;
        }
        switch (d.kind) {
            case vhost::destination_kind::mailbox:
                r = to_mailbox(d, env, body, headers);
                break;
            case vhost::destination_kind::autoreply:
                r = result_delivered("auto-responder");
                break;
            case vhost::destination_kind::command:
                r = to_command(d, env, body);
                break;
            case vhost::destination_kind::remote:
                r = to_remote(d, env, body);
                break;
        }
        if (r.temporary()) {
            return r;
        }
        if (!r.delivered()) {
            if (!first_perm) {
                first_perm = r;
            }
            continue;
        }
        any_delivered = true;
        if (d.vacation) {
            auto v = vacation(d, env, headers, res);
            if (v.temporary() && d.kind == vhost::destination_kind::autoreply) {
                return v;  // nothing delivered yet for this destination: retrying is safe
            }
            if (v.temporary()) {
                log::warning("to=<{}>: {} (the message itself was delivered)", log_field(d.address),
                             v.text);
            }
        }
    }
    if (first_perm && !any_delivered) {
        return *first_perm;
    }
    return result_delivered("<" + env.recipient + "> delivered");
}

}  // namespace vhostmail::deliver
