// SPDX-License-Identifier: Apache-2.0
// policy_engine.hh - the checks of vhostmail-policyd, run for one policy request in a fixed
// order (sender_login, hosted_sender, recipient, rate_limit, greylist); the first that does not
// answer DUNNO decides. Each check acts only in the protocol states it is meant for:
//   sender_login   MAIL/RCPT, authenticated: the login must own the envelope sender (the
//                  resolver's sender_logins: own address, aliases, alias domains, +extension,
//                  grants, domain admins) -> else REJECT 5.7.1.
//   hosted_sender  MAIL/RCPT, unauthenticated: a sender in one of our domains -> REJECT 5.7.1
//                  (or only a WARN log line, policyd_hosted_sender_action = warn).
//   recipient      RCPT: a domain that refuses mail -> REJECT 5.7.1 with its text; the local
//                  mailboxes the recipient resolves to all over quota (bytes with the announced
//                  size, or messages) -> REJECT 5.2.2 or DEFER_IF_PERMIT 4.2.2.
//   rate_limit     RCPT: refuse once a budget is spent (login, the login's domain total, sender,
//                  client; recipients per message); END-OF-MESSAGE: charge the accepted message
//                  with its real recipient count and size.
//   greylist       RCPT, unauthenticated: triplet (client network, sender, recipient).
// A check that cannot decide (database down, routing data not current) answers its configured
// fault action (DUNNO or DEFER_IF_PERMIT), logged once per outage.
// Thread safety: decide() may be called from many threads; connection_state is per connection.
#pragma once

#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "lib/core/dsn.hh"
#include "lib/daemon/reloadable.hh"
#include "lib/log/rate_limit.hh"
#include "lib/policy/budgets.hh"
#include "lib/policy/checks.hh"
#include "lib/policy/greylist.hh"
#include "lib/policy/rate.hh"
#include "lib/proto/policy.hh"
#include "lib/vhost/resolver.hh"
#include "lib/vhost/routing_source.hh"
#include "lib/vhost/snapshot.hh"

#include "daemons/policyd/notice_sender.hh"
#include "daemons/policyd/policy_store.hh"

namespace vhostmail::policyd {

enum class fault_action { dunno, defer };

struct engine_settings {
    vhost::resolve_options resolve;
    vhost::freshness routing_freshness;  // policyd_max_staleness; no outage grace
    bool hosted_sender_reject = true;
    policy::default_budgets budgets;
    bool rate_reject = false;  // false: DEFER_IF_PERMIT
    int64_t greylist_delay_s = 300;
    int64_t greylist_retry_window_s = 2 * 86400;
    unsigned greylist_ipv4_prefix = 24, greylist_ipv6_prefix = 64;
    uint64_t greylist_auto_whitelist = 5;  // 0: off
    policy::greylist_whitelist whitelist;
    bool over_quota_reject = true;  // false: DEFER_IF_PERMIT 4.2.2
    std::vector<std::string>
        notify_sendmail;   // argv; empty: no notice mail when a login hits a limit
    std::string hostname;  // for the notice's Message-ID
    fault_action sender_login_fault = fault_action::defer;
    fault_action hosted_sender_fault = fault_action::dunno;
    fault_action recipient_fault = fault_action::defer;
    fault_action rate_limit_fault = fault_action::dunno;
    fault_action greylist_fault = fault_action::dunno;
};

// Per-connection memory: Postfix sends one transaction at a time on a connection.
struct connection_state {
    std::string instance;     // the transaction the counts below belong to
    uint64_t recipients = 0;  // RCPT requests seen in it
};

// The access(5) actions policyd answers with.
enum class action_kind {
    dunno,            // no opinion: the next restriction decides
    reject,           // "REJECT <dsn> <text>"
    defer_if_permit,  // "DEFER_IF_PERMIT <dsn> <text>": temporary, unless a later check rejects
    reply,            // "<code> <dsn> <text>", Postfix's own reply (e.g. 452 4.5.3 per recipient)
};

struct decision {
    action_kind kind = action_kind::dunno;
    dsn::status status{0, ""};
    std::string text;
    std::string log_line;  // non-empty: worth one log line (refusals, faults, warnings)
    bool warning = false;
    unsigned decided_by = 0;  // the policy::check whose answer this is (0: none objected)
    bool fault = false;       // a check could not decide (database, routing data)

    // The action line sent to smtpd.
    std::string action() const;

    bool temporary() const {
        return kind == action_kind::defer_if_permit || status.code / 100 == 4;
    }
};

decision make_decision(action_kind kind, dsn::status status, std::string text);

class policy_engine {
public:
    // `snapshot` gives the routing data if it is current under the rules given (else null).
    using snapshot_fn =
        std::function<std::shared_ptr<const vhost::snapshot>(const vhost::freshness& rules)>;

    policy_engine(policy_store& store, snapshot_fn snapshot, engine_settings settings);

    void set_settings(engine_settings settings);

    decision decide(const proto::policy_request& req, unsigned checks, connection_state& conn);

private:
    struct context;
    decision sender_login(context& c);
    decision hosted_sender(context& c);
    decision recipient(context& c);
    decision rate_limit(context& c);
    decision greylist(context& c);
    decision fault(context& c, std::string_view check, fault_action action, const std::string& why);
    void limit_reached(context& c, const std::string& key, const policy::rate_rule& rule);
    void send_notice(context& c, const std::string& key, const policy::rate_rule& rule);

    policy_store& store_;
    snapshot_fn snapshot_;
    reloadable<engine_settings> settings_;
    log::state_change_logger outage_;
    std::mutex reached_mutex_;
    std::set<std::pair<std::string, int64_t>> reached_;  // (key, window start) already logged
    notice_sender notices_;
};

}  // namespace vhostmail::policyd
