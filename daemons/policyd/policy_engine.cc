// SPDX-License-Identifier: Apache-2.0
#include "daemons/policyd/policy_engine.hh"

#include <algorithm>
#include <map>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/log/log.hh"
#include "lib/os/command.hh"

namespace vhostmail::policyd {

namespace {

constexpr size_t max_triplet_part = 320;  // the greylist table's column width

uint64_t parse_count(std::string_view text) {
    uint64_t n = 0;
    for (char c : text) {
        if (c < '0' || c > '9' || n > UINT64_MAX / 10 - 10) {
            return n;
        }
        n = n * 10 + static_cast<uint64_t>(c - '0');
    }
    return n;
}

}  // namespace

// Everything one request's checks share, computed once.
struct policy_engine::context {
    const proto::policy_request& req;
    const engine_settings& s;
    connection_state& conn;
    std::string state{}, client_address{}, client_name{}, login{}, sender{}, recipient{};
    uint64_t size = 0;
    int64_t now = 0;
    std::shared_ptr<const vhost::snapshot> snap{};
    bool snap_tried = false;
    uint64_t recipients = 0;  // this transaction's recipients so far, this one included
    bool faulted = false;
    bool used_state = false;  // routing data or the database answered: proof they work

    // The routing data, or null when it is not current.
    const vhost::snapshot* routing(const snapshot_fn& get) {
        if (!snap_tried) {
            snap_tried = true;
            snap = get(s.routing_freshness);
            used_state = used_state || snap != nullptr;
        }
        return snap.get();
    }

    vhost::resolve_options resolve_options() const {
        auto o = s.resolve;
        o.now = now;
        o.trace = false;
        return o;
    }

    bool in_mail_or_rcpt() const { return state == "RCPT" || state == "MAIL"; }

    std::string where() const {
        return state + " from " + log_field(client_name) + "[" + log_field(client_address) + "]";
    }

    // A refusal and its log line, in the style of smtpd's "reject: RCPT from ..." lines.
    decision refuse(action_kind kind, dsn::status status, std::string text,
                    const std::string& extra = "") const {
        decision d = make_decision(kind, status, std::move(text));
        d.log_line = std::string(d.temporary() ? "defer: " : "reject: ") + where() + ": " +
                     d.action() + "; from=<" + log_field(sender) + "> to=<" + log_field(recipient) +
                     ">" + (login.empty() ? "" : " login=" + log_field(login)) + extra;
        return d;
    }
};

decision make_decision(action_kind kind, dsn::status status, std::string text) {
    decision d;
    d.kind = kind;
    d.status = status;
    d.text = std::move(text);
    return d;
}

std::string decision::action() const {
    std::string rest = std::string(status.enhanced) + " " + text;
    switch (kind) {
        case action_kind::dunno:
            break;
        case action_kind::reject:
            return "REJECT " + rest;
        case action_kind::defer_if_permit:
            return "DEFER_IF_PERMIT " + rest;
        case action_kind::reply:
            return std::to_string(status.code) + " " + rest;
    }
    return "DUNNO";
}

policy_engine::policy_engine(policy_store& store, snapshot_fn snapshot, engine_settings settings)
    : store_(store), snapshot_(std::move(snapshot)), settings_(std::move(settings)) {}

void policy_engine::set_settings(engine_settings settings) {
    settings_.set(std::move(settings));
}

decision policy_engine::decide(const proto::policy_request& req, unsigned checks,
                               connection_state& conn) {
    auto settings = settings_.get();
    context c{req, *settings, conn};
    c.state = std::string(req.get("protocol_state"));
    c.client_address = std::string(req.get("client_address"));
    c.client_name = req.has("client_name") ? std::string(req.get("client_name")) : "unknown";
    c.login = ascii_lower(req.get("sasl_username"));
    c.sender = std::string(req.get("sender"));
    c.recipient = std::string(req.get("recipient"));
    c.size = parse_count(req.get("size"));
    c.now = static_cast<int64_t>(std::time(nullptr));
    if (req.get("instance") != conn.instance) {
        conn.instance = std::string(req.get("instance"));
        conn.recipients = 0;
    }
    c.recipients = conn.recipients + (c.state == "RCPT" ? 1 : 0);

    using step = decision (policy_engine::*)(context&);
    static constexpr std::pair<policy::check, step> order[] = {
        {policy::check_sender_login, &policy_engine::sender_login},
        {policy::check_hosted_sender, &policy_engine::hosted_sender},
        {policy::check_recipient, &policy_engine::recipient},
        {policy::check_rate_limit, &policy_engine::rate_limit},
        {policy::check_greylist, &policy_engine::greylist},
    };
    decision result;
    for (const auto& [bit, fn] : order) {
        if (!(checks & bit)) {
            continue;
        }
        decision d = (this->*fn)(c);
        if (d.kind != action_kind::dunno) {
            result = std::move(d);
            result.decided_by = bit;
            break;
        }
        if (!d.log_line.empty()) {
            result = std::move(d);  // a warning that lets the mail through
        }
    }
    if (c.state == "RCPT" && result.kind == action_kind::dunno) {
        ++conn.recipients;  // refused recipients do not count against the message
    }
    result.fault = c.faulted;
    if (!c.faulted && c.used_state && outage_.success()) {
        log::info("policy checks work again");
    }
    return result;
}

decision policy_engine::fault(context& c, std::string_view check, fault_action action,
                              const std::string& why) {
    c.faulted = true;
    decision d;
    if (action == fault_action::defer) {
        d = make_decision(action_kind::defer_if_permit, dsn::local_error,
                          "Temporary policy service problem, try again later");
    }
    if (outage_.failure()) {
        d.log_line = std::string(check) + " check cannot decide (" + why + "), answering " +
                     (action == fault_action::defer ? "DEFER_IF_PERMIT" : "DUNNO") +
                     " until it can";
        d.warning = true;
    }
    return d;
}

decision policy_engine::sender_login(context& c) {
    if (c.login.empty() || c.sender.empty() || !c.in_mail_or_rcpt()) {
        return {};  // the null sender carries no identity to check
    }
    const auto* snap = c.routing(snapshot_);
    if (!snap) {
        return fault(c, "sender_login", c.s.sender_login_fault, "routing data not current");
    }
    vhost::snapshot_directory dir(c.snap);
    auto allowed = vhost::may_send_as(dir, c.login, c.sender, c.resolve_options());
    if (allowed.status == lookup_status::temp_fail) {
        return fault(c, "sender_login", c.s.sender_login_fault, allowed.reason);
    }
    if (allowed.value) {
        return {};
    }
    return c.refuse(
        action_kind::reject, dsn::not_allowed,
        "Sender address <" + log_field(c.sender) + "> is not owned by user " + log_field(c.login));
}

decision policy_engine::hosted_sender(context& c) {
    if (!c.login.empty() || c.sender.empty() || !c.in_mail_or_rcpt()) {
        return {};
    }
    auto parts = split_address(c.sender);
    auto domain = normalize_domain(parts.domain);
    if (!parts.has_at || !domain) {
        return {};
    }
    const auto* snap = c.routing(snapshot_);
    if (!snap) {
        return fault(c, "hosted_sender", c.s.hosted_sender_fault, "routing data not current");
    }
    vhost::snapshot_directory dir(c.snap);
    auto found = dir.find_domain(*domain);
    if (found.status != lookup_status::found) {
        return {};
    }
    if (c.s.hosted_sender_reject) {
        return c.refuse(action_kind::reject, dsn::not_allowed,
                        "Sender address <" + log_field(c.sender) + ">: mail from " + *domain +
                            " must be sent with authentication");
    }
    decision d;
    d.log_line = c.where() + ": unauthenticated sender in a hosted domain; from=<" +
                 log_field(c.sender) + "> to=<" + log_field(c.recipient) + ">";
    d.warning = true;
    return d;
}

decision policy_engine::recipient(context& c) {
    if (c.state != "RCPT" || c.recipient.empty()) {
        return {};
    }
    const auto* snap = c.routing(snapshot_);
    if (!snap) {
        return fault(c, "recipient", c.s.recipient_fault, "routing data not current");
    }
    vhost::snapshot_directory dir(c.snap);
    auto res = vhost::resolve(dir, c.recipient, c.resolve_options());
    if (res.status == lookup_status::temp_fail) {
        return fault(c, "recipient", c.s.recipient_fault, res.reason);
    }
    if (res.status == lookup_status::not_found) {
        if (!res.rejected_by_domain) {
            return {};  // unknown users are lookupd's to reject; remote ones are relay decisions
        }
        // Postfix puts "<recipient>: Recipient address rejected:" before the text.
        return c.refuse(action_kind::reject, dsn::not_allowed,
                        (res.reject_text.empty() ? std::string("this domain does not accept mail")
                                                 : res.reject_text));
    }
    // Refuse only when every destination is a local mailbox and all of them are full: an alias
    // that also reaches a mailbox with room (or a remote address) is still deliverable there.
    size_t full = 0;
    for (const auto& dest : res.destinations) {
        if (dest.kind == vhost::destination_kind::autoreply) {
            continue;  // goes along with another destination, never alone
        }
        if (dest.kind != vhost::destination_kind::mailbox || dest.quota.unlimited()) {
            return {};
        }
        auto u = store_.usage(dest.address_id);
        if (u.status != lookup_status::found) {
            return fault(c, "recipient", c.s.recipient_fault, u.reason);
        }
        c.used_state = true;
        if (!store::exceeds(dest.quota, u.value, c.size)) {
            return {};
        }
        ++full;
    }
    if (full == 0) {
        return {};
    }
    std::string size = " size=" + std::to_string(c.size);
    if (c.s.over_quota_reject) {
        return c.refuse(action_kind::reject, dsn::mailbox_full, "Mailbox full", size);
    }
    return c.refuse(action_kind::defer_if_permit, dsn::mailbox_full_temp,
                    "Mailbox full, try again later", size);
}

decision policy_engine::rate_limit(context& c) {
    if (c.state != "RCPT" && c.state != "END-OF-MESSAGE") {
        return {};
    }
    auto limits = store_.limits();
    auto subjects =
        policy::budget_subjects(c.s.budgets, *limits, c.login, c.sender, c.client_address);
    if (c.state == "END-OF-MESSAGE") {
        uint64_t recipients = parse_count(c.req.get("recipient_count"));
        if (recipients == 0) {
            recipients = std::max<uint64_t>(c.conn.recipients, 1);
        }
        // Each counter once, however many rules (windows aside) share it.
        std::set<std::pair<std::string, int64_t>> charged;
        for (const auto& subject : subjects) {
            for (const auto& rule : subject.rules) {
                std::string key = policy::counter_key(subject, rule);
                if (!charged.emplace(key, rule.window_s).second) {
                    continue;
                }
                uint64_t n = rule.what == policy::budget::messages     ? 1
                             : rule.what == policy::budget::recipients ? recipients
                                                                       : c.size;
                store_.charge(key, c.now, rule.window_s, n);
            }
        }
        return {};
    }
    uint64_t per_message = recipients_per_message(
        c.s.budgets.recipients_per_message, *limits,
        c.login.empty() ? c.login : address_counting_key(c.login, c.s.budgets.delimiters));
    if (per_message > 0 && c.recipients > per_message) {
        return c.refuse(
            action_kind::reply, dsn::too_many_recipients,
            "Too many recipients: at most " + std::to_string(per_message) + " per message");
    }
    for (const auto& subject : subjects) {
        for (const auto& rule : subject.rules) {
            std::string key = policy::counter_key(subject, rule);
            auto counts = store_.counts(key, c.now, rule.window_s);
            if (counts.status != lookup_status::found) {
                return fault(c, "rate_limit", c.s.rate_limit_fault, counts.reason);
            }
            c.used_state = true;
            uint64_t cost = rule.what == policy::budget::messages     ? 1
                            : rule.what == policy::budget::recipients ? c.recipients
                                                                      : c.size;
            int64_t wait = policy::seconds_until_fits(counts.value, c.now, rule, cost);
            if (wait == 0) {
                continue;
            }
            std::string who = subject.key.substr(subject.key.find(':') + 1);
            std::string text = "Sending limit reached for " + who + ": " + describe(rule) +
                               "; try again in " + policy::format_wait(wait);
            if (subject.login) {
                limit_reached(c, key, rule);
            }
            return c.s.rate_reject ? c.refuse(action_kind::reject, dsn::not_allowed, text)
                                   : c.refuse(action_kind::defer_if_permit, dsn::policy_temp, text);
        }
    }
    return {};
}

// A login that hits a limit is the usual sign of a stolen password: say so loudly, once per
// counter and window.
void policy_engine::limit_reached(context& c, const std::string& key,
                                  const policy::rate_rule& rule) {
    std::lock_guard lock(reached_mutex_);
    int64_t start = policy::window_start(c.now, rule.window_s);
    if (!reached_.emplace(key, start).second) {
        return;
    }
    if (reached_.size() > 100000) {
        reached_.clear();
    }
    log::warning("sending limit reached: {} used {} (client {}[{}]); a compromised account?", key,
                 describe(rule), c.client_name, c.client_address);
    if (!c.s.notify_sendmail.empty()) {
        send_notice(c, key, rule);
    }
}

// Tells the domain's administrators (or its postmaster) by mail, through Postfix's sendmail
// with the null sender (no bounce loops), through notice_sender so the reply is not delayed.
void policy_engine::send_notice(context& c, const std::string& key, const policy::rate_rule& rule) {
    std::string who = key.substr(key.find(':') + 1);
    who = who.substr(0, who.rfind(':'));  // "login:joe@example.com:messages" -> the login
    // "domain:example.com:messages" (a domain's total) names the domain itself.
    std::string domain = key.starts_with("domain:") ? who : split_address(who).domain;
    if (domain.empty()) {
        return;
    }
    std::vector<std::string> to;
    if (const auto* snap = c.routing(snapshot_)) {
        vhost::domain_segment seg;
        if (snap->find_domain(domain, seg) == vhost::snapshot::found::yes) {
            if (auto admins = seg.admins()) {
                for (std::string_view admin : *admins) {
                    to.emplace_back(admin);
                }
            }
        }
    }
    if (to.empty()) {
        to.push_back("postmaster@" + domain);
    }
    std::string joined;
    for (const auto& t : to) {
        joined += (joined.empty() ? "" : ", ") + t;
    }
    char date[64];
    std::time_t now = c.now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    std::string message =
        "From: Mail policy service <postmaster@" + domain + ">\n" + "To: " + joined + "\n" +
        "Subject: Sending limit reached by " + who + "\n" + "Date: " + date + "\n" +
        "Message-ID: <policyd." + std::to_string(c.now) + "." +
        std::to_string(std::hash<std::string>{}(key)) + "@" + c.s.hostname + ">\n" +
        "Auto-Submitted: auto-generated\n" + "Content-Type: text/plain; charset=utf-8\n\n" + who +
        " reached its sending limit of " + describe(rule) + ".\nThe last attempt came from " +
        c.client_name + "[" + c.client_address + "], sender <" + c.sender + ">.\n\n" +
        "Further mail is deferred until the budget allows it again. If the owner did not\n"
        "send this mail, the password may be stolen: change it and check the account.\n";
    if (!notices_.post({c.s.notify_sendmail, std::move(to), std::move(message), who, joined})) {
        log::warning("sending-limit notice for {} to {} dropped: too many notices waiting", who,
                     joined);
    }
}

decision policy_engine::greylist(context& c) {
    if (c.state != "RCPT" || !c.login.empty() || c.recipient.empty()) {
        return {};
    }
    if (!c.s.whitelist.exempt(c.client_address, c.client_name, c.recipient).empty()) {
        return {};
    }
    auto net = client_network(c.client_address, c.s.greylist_ipv4_prefix, c.s.greylist_ipv6_prefix);
    // Too long or not UTF-8 (a client's choice): greylisted by a hash of it all the same.
    std::string sender = storable_key(ascii_lower(c.sender), max_triplet_part);
    std::string rcpt = storable_key(ascii_lower(c.recipient), max_triplet_part);
    if (!net) {
        return {};
    }
    std::string triplet = *net + "\n" + sender + "\n" + rcpt;
    if (store_.known_passed(triplet)) {
        return {};
    }
    if (c.s.greylist_auto_whitelist > 0) {
        auto white = store_.client_whitelisted(*net, c.s.greylist_auto_whitelist);
        if (white.status != lookup_status::found) {
            return fault(c, "greylist", c.s.greylist_fault, white.reason);
        }
        if (white.value) {
            return {};
        }
    }
    auto st = store_.see_triplet(*net, sender, rcpt);
    if (st.status != lookup_status::found) {
        return fault(c, "greylist", c.s.greylist_fault, st.reason);
    }
    c.used_state = true;
    auto verdict =
        policy::decide_greylist(st.value, c.s.greylist_delay_s, c.s.greylist_retry_window_s);
    using write = policy_store::greylist_write;
    switch (verdict.verdict) {
        case policy::greylist_verdict::pass:
            store_.remember_pass(triplet);
            // A known triplet's last use is refreshed once per pass_cache_time (its expiry).
            store_.queue_greylist(st.value.passed ? write::touch : write::pass, *net, sender, rcpt);
            if (!st.value.passed) {
                decision d;
                d.log_line = "pass: " + c.where() + ": greylisting passed after " +
                             std::to_string(st.value.age_s) + "s; from=<" + log_field(c.sender) +
                             "> to=<" + log_field(c.recipient) + ">";
                return d;
            }
            return {};
        case policy::greylist_verdict::restart:
            store_.queue_greylist(write::restart, *net, sender, rcpt);
            break;
        case policy::greylist_verdict::defer:
            if (st.value.new_triplet) {
                store_.queue_greylist(write::first_seen, *net, sender, rcpt);
            }
            break;
    }
    return c.refuse(
        action_kind::defer_if_permit, dsn::policy_temp,
        "Greylisted: please try again in " + std::to_string(verdict.wait_s) + " seconds");
}

}  // namespace vhostmail::policyd
