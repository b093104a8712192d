// SPDX-License-Identifier: Apache-2.0
// delivery.hh - the delivery core shared by vhostmail-deliver (pipe) and vhostmail-lmtpd: one
// recipient of one message -> the resolver's destinations -> their outcomes -> one result.
//
// Per recipient: vhost::resolve (the one router). temp_fail -> 451 4.3.0; not_found -> 550 5.1.1.
// Each destination, after its domain's filter program (if any, run once per message and domain
// with SENDER and DOMAIN in its environment; empty output = discarded, failure = temporary),
// gets:
//   mailbox    loop check (our Delivered-To already in the message -> 554 5.4.6), quota check
//              (Maildir++ maildirsize; over -> 552 5.2.2 or 452 4.2.2), Return-Path (the
//              sender before our SRS rewrote it, when it did: docs/srs.md),
//              X-Original-To, Delivered-To, durable Maildir write (lib/store/maildir.hh), usage
//              line in maildirsize and the usage record in the database; then vacation.
//   autoreply  vacation only (an auto-responder address without a mailbox).
//   command    the fallback "|command": argv with %d %u %f, message on stdin, exit status mapped
//              like pipe(8) (0 ok, 71/75/signal/time-out temporary, 67 5.1.1, other 5.3.0).
//   remote     resubmitted through sendmail (only when the recipient was not already expanded
//              by virtual_alias_maps, e.g. the pipe transport used without lookupd).
// The result of several destinations: any temporary failure -> temporary (Postfix retries the
// whole recipient: an earlier destination may then get a second copy; lost is never), else the
// first permanent failure when nothing was delivered, else delivered.
// Every failure of the environment (DB, disk, permissions, programs) is temporary.
// Thread safety: a delivery_agent is used by one thread; make one per message/session.
#pragma once

#include <chrono>
#include <ctime>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/config.hh"
#include "lib/core/dsn.hh"
#include "lib/os/command.hh"
#include "lib/srs/srs.hh"
#include "lib/store/maildir.hh"
#include "lib/vhost/directory.hh"
#include "lib/vhost/resolver.hh"

#include "daemons/deliver/delivery_store.hh"
#include "daemons/deliver/message.hh"

namespace vhostmail::deliver {

struct delivery_settings {
    std::string hostname;  // Maildir names, Message-IDs
    // 552 5.2.2, else 452 4.2.2. Temporary by default: the recipient was accepted already,
    // and a bounce then goes to a sender that may be forged (backscatter).
    bool over_quota_permanent = false;
    std::chrono::milliseconds filter_time_limit{60000};
    size_t filter_max_output = 64u << 20;
    std::chrono::milliseconds command_time_limit{300000};
    bool command_as_daemon_user = false;  // filters/commands without a command user (unsafe)
    std::string expansion_filter{os::default_expansion_filter};  // what %d %u %f may carry
    os::program_limits command_limits;
    std::vector<std::string> sendmail;  // argv of Postfix's sendmail, e.g. {"/usr/sbin/sendmail"}
    std::vector<std::string> vacation_addresses;  // extra addresses counted as "addressed to me"
    vhost::resolve_options resolve;
    // Gives back the sender our SRS rewrote (Postfix rewrites every message's sender in cleanup,
    // local ones too), for the Return-Path, vacation and filters; null: SRS off.
    std::shared_ptr<const srs::codec> srs;
    // The SRS domain when SRS is on but its secrets could not be read: mail from that domain is
    // deferred (4.3.0) rather than delivered with an SRS Return-Path for good.
    std::string srs_unavailable;
    store::maildir::hook hook;  // test hook (durability tests); empty in production
};

// Sets the delivery settings' SRS codec from the configuration (srs and srs_unavailable);
// logs why when the secrets cannot be read.
void load_srs(delivery_settings& s, const config::config& cfg);

struct envelope {
    std::string sender;              // "" = null sender
    std::string recipient;           // as Postfix delivers it (after virtual_alias_maps)
    std::string original_recipient;  // ORCPT / ${original_recipient}; may be empty
};

// One delivery result with its LMTP reply and pipe(8) exit status (the one outcome table).
struct delivery_result {
    int code = 451;        // SMTP/LMTP reply code
    std::string enhanced;  // lib/core/dsn.hh
    std::string text;      // short reason, no CR/LF
    int exit = 75;         // sysexits for pipe(8)

    bool delivered() const { return code / 100 == 2; }

    bool temporary() const { return code / 100 == 4; }
};

// A result of `status` (lib/core/dsn.hh) with pipe(8)'s exit status `exit`.
delivery_result make_result(dsn::status status, std::string text, int exit);
delivery_result result_delivered(std::string text);
delivery_result result_temp(std::string text, dsn::status status = dsn::local_error);
delivery_result result_no_user(std::string text);
delivery_result result_loop(std::string text);
delivery_result result_over_quota(bool permanent, std::string text);
delivery_result result_too_big(std::string text);
// A program's exit status the way pipe(8) reads it (sys_exits.c).
delivery_result result_from_exit(int status, std::string_view what);

class delivery_agent {
public:
    delivery_agent(const delivery_settings& settings, int mail_base_fd, vhost::directory& dir,
                   delivery_store& store)
        : s_(settings), base_fd_(mail_base_fd), dir_(dir), store_(store) {}

    // Delivers `message` (LF line ends, headers first; nothing added yet) to one recipient.
    delivery_result deliver(const envelope& env, std::string_view message,
                            const std::vector<header_field>& headers);

private:
    struct prepared {            // the message after its domain's filter
        delivery_result result;  // the filter's outcome: a temporary failure holds every recipient
        bool discarded = false;
        std::string filtered;
    };

    delivery_result filter(const std::string& domain, const std::string& command,
                           const envelope& env, std::string_view message, prepared& out);
    delivery_result to_mailbox(const vhost::destination& d, const envelope& env,
                               std::string_view message, const std::vector<header_field>& headers);
    delivery_result to_command(const vhost::destination& d, const envelope& env,
                               std::string_view message);
    delivery_result to_remote(const vhost::destination& d, const envelope& env,
                              std::string_view message);
    delivery_result vacation(const vhost::destination& d, const envelope& env,
                             const std::vector<header_field>& headers,
                             const vhost::resolution& res);
    std::string trace_headers(const vhost::destination& d, const envelope& env) const;

    const delivery_settings& s_;
    int base_fd_;
    vhost::directory& dir_;
    delivery_store& store_;
    // Each domain's filter runs once per agent, i.e. once per message: lmtpd makes one agent
    // per transaction, so 50 recipients in one domain cost one filter run, not 50.
    std::map<std::string, prepared> filtered_;
};

}  // namespace vhostmail::deliver
