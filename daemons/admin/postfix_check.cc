// SPDX-License-Identifier: Apache-2.0
// postfix_check.cc - see postfix_check.hh. Paths: a unix socket Postfix names relative to its
// queue directory (the chroot on Debian) is compared as queue_directory/PATH; an absolute one
// either as it is (unchrooted) or inside the chroot.
#include "daemons/admin/postfix_check.hh"

#include <algorithm>

#include "lib/core/strings.hh"
#include "lib/os/command.hh"

namespace vhostmail::admin {

namespace {

// The maps lookupd serves, and the main.cf parameter each belongs in.
struct map_use {
    const char* parameter;
    const char* map;
    bool required;  // false: only a warning when missing
};

constexpr map_use map_uses[] = {
    {"virtual_mailbox_domains", "domains", true},
    {"virtual_alias_maps", "aliases", true},
    {"virtual_mailbox_maps", "mailboxes", true},
    {"smtpd_sender_login_maps", "senders", false},
};

std::vector<std::string> words(std::string_view list) {
    return split_list(list, ", \t\r\n");
}

bool has_word(std::string_view list, std::string_view word) {
    auto all = words(list);
    return std::find(all.begin(), all.end(), word) != all.end();
}

bool yes(std::string_view v) {
    std::string s = ascii_lower(v);
    return s == "yes" || s == "true" || s == "on" || s == "1";
}

// Canonical "unix:/path" or "inet:host:port"; a relative path is taken beneath `base`.
std::string canonical(std::string_view ep, std::string_view base) {
    std::string path;
    if (ep.starts_with("unix:")) {
        path = std::string(ep.substr(5));
    } else if (ep.starts_with("/")) {
        path = std::string(ep);
    } else {
        return "inet:" + std::string(ep.starts_with("inet:") ? ep.substr(5) : ep);
    }
    if (!path.starts_with("/")) {
        path = std::string(base) + "/" + path;
    }
    return "unix:" + path;
}

// Does the endpoint Postfix names reach the daemon's listener?
bool reaches(std::string_view postfix_ep, std::string_view daemon_ep, std::string_view queue) {
    std::string want = canonical(daemon_ep, "/");
    std::string got = canonical(postfix_ep, queue);
    if (got == want) {
        return true;
    }
    return got.starts_with("unix:/") &&
           canonical("unix:" + std::string(queue) + got.substr(5), "/") == want;
}

bool reaches_any(std::string_view postfix_ep, const std::vector<std::string>& daemon_eps,
                 std::string_view queue) {
    return std::any_of(daemon_eps.begin(), daemon_eps.end(),
                       [&](const auto& d) { return reaches(postfix_ep, d, queue); });
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) {
        out += (out.empty() ? "" : " ") + s;
    }
    return out.empty() ? "(none)" : out;
}

class judge {
public:
    judge(const postfix_settings& pf, const daemon_endpoints& ours) : pf_(pf), ours_(ours) {
        queue_ = value("queue_directory");
    }

    std::vector<finding> run(const std::set<std::string>& hosted, const routing_in_use& routing) {
        backup_ = &routing.backup_domains;
        for (const auto& use : map_uses) {
            maps(use);
        }
        domain_classes(hosted);
        relay();
        for (const auto& s : pf_.services) {
            if (submission(s)) {
                submission_service(s);
            }
        }
        if (yes(value("smtpd_sasl_auth_enable"))) {
            sasl_path("main.cf", value("smtpd_sasl_type"), value("smtpd_sasl_path"));
        }
        lmtp();
        if (!ours_.milter.empty()) {
            milter();
        }
        srs(hosted);
        routing_maps(routing);
        return std::move(out_);
    }

private:
    std::string value(const std::string& name) const {
        auto it = pf_.main.find(name);
        return it == pf_.main.end() ? std::string() : it->second;
    }

    std::string effective(const postfix_service& s, const std::string& name) const {
        auto it = s.overrides.find(name);
        return it == s.overrides.end() ? value(name) : it->second;
    }

    void error(std::string m) { out_.push_back({true, std::move(m)}); }

    void warning(std::string m) { out_.push_back({false, std::move(m)}); }

    // Which lookupd map (if any) answers at a tcp: or socketmap: table; "" for other tables.
    // Sets `stray` when the table is of our kinds but reaches no listener of ours.
    std::string map_of(const std::string& table, bool& stray) const {
        stray = false;
        std::string t = table.starts_with("proxy:") ? table.substr(6) : table;
        if (t.starts_with("tcp:")) {
            for (const auto& [map, ep] : ours_.lookupd_tcp) {
                if (reaches(t.substr(4), ep, queue_)) {
                    return map;
                }
            }
            stray = true;
        } else if (t.starts_with("socketmap:")) {
            auto colon = t.rfind(':');
            if (reaches_any(t.substr(10, colon - 10), ours_.lookupd_socketmap, queue_)) {
                return t.substr(colon + 1);
            }
            stray = true;
        }
        return "";
    }

    std::string expected(const std::string& map) const {
        std::vector<std::string> forms;
        auto tcp = ours_.lookupd_tcp.find(map);
        if (tcp != ours_.lookupd_tcp.end() && !canonical(tcp->second, "/").starts_with("unix:")) {
            forms.push_back("tcp:" + canonical(tcp->second, "/").substr(5));
        }
        for (const auto& ep : ours_.lookupd_socketmap) {
            forms.push_back("socketmap:" + canonical(ep, "/") + ":" + map);
        }
        std::string out;
        for (const auto& f : forms) {
            out += (out.empty() ? "" : " or ") + f;
        }
        return out.empty() ? "no lookupd listener is configured for it" : "expected " + out;
    }

    void maps(const map_use& use) {
        std::vector<std::string> before;  // other tables consulted before ours
        bool found = false;
        bool misdirected = false;  // already reported: a table of ours in the wrong place
        for (const auto& table : words(value(use.parameter))) {
            if (table.find(':') == std::string::npos) {
                continue;  // a literal domain name (virtual_mailbox_domains)
            }
            bool stray = false;
            std::string map = map_of(table, stray);
            misdirected = misdirected || stray || (!map.empty() && map != use.map);
            if (stray) {
                error(std::string(use.parameter) + " = " + table +
                      ": no vhostmail-lookupd listener there (" + expected(use.map) + ")");
            } else if (!map.empty() && map != use.map) {
                error(std::string(use.parameter) + " = " + table + " asks lookupd's " + map +
                      " map, not " + use.map + " (" + expected(use.map) + ")");
            } else if (map == use.map) {
                found = true;
                break;
            } else {
                before.push_back(table);
            }
        }
        if (!found && !misdirected) {
            std::string m = std::string(use.parameter) + " does not use vhostmail-lookupd's " +
                            use.map + " map (" + expected(use.map) + ")";
            use.required ? error(m) : warning(m);
        } else if (!before.empty()) {
            warning(std::string(use.parameter) + ": " + joined(before) +
                    " come(s) before vhostmail-lookupd and answer first");
        }
    }

    void domain_classes(const std::set<std::string>& hosted) {
        for (const char* param : {"mydestination", "virtual_alias_domains", "relay_domains"}) {
            for (const auto& entry : words(value(param))) {
                const bool backup_as_relay = std::string_view(param) == "relay_domains" &&
                                             backup_->contains(ascii_lower(entry));
                if (hosted.contains(ascii_lower(entry)) && !backup_as_relay) {
                    error(ascii_lower(entry) + " is hosted by vhostmail and also listed in " +
                          param + ": a domain belongs in one address class only");
                }
            }
        }
    }

    void relay() {
        for (const char* p : {"smtpd_relay_restrictions", "smtpd_recipient_restrictions"}) {
            if (has_word(value(p), "reject_unauth_destination") ||
                has_word(value(p), "defer_unauth_destination")) {
                return;
            }
        }
        error(
            "neither smtpd_relay_restrictions nor smtpd_recipient_restrictions has"
            " reject_unauth_destination: Postfix may be an open relay");
    }

    static bool submission(const postfix_service& s) {
        if (s.type != "inet" || s.command != "smtpd") {
            return false;
        }
        std::string port = s.name.substr(s.name.rfind(':') + 1);
        return port == "submission" || port == "587" || port == "submissions" || port == "smtps" ||
               port == "465";
    }

    void submission_service(const postfix_service& s) {
        const std::string who = "master.cf service " + s.name;
        bool sasl = yes(effective(s, "smtpd_sasl_auth_enable"));
        if (!sasl) {
            error(who + " accepts submissions without SMTP AUTH (-o smtpd_sasl_auth_enable=yes)");
        }
        // Relay and recipient restrictions both run for every recipient: a logged-in user
        // sends out only when permit_sasl_authenticated comes before any final "no" in each.
        for (const char* p : {"smtpd_relay_restrictions", "smtpd_recipient_restrictions"}) {
            for (const auto& w : words(effective(s, p))) {
                if (w == "permit_sasl_authenticated" || w == "permit") {
                    break;
                }
                if (w == "reject" || w == "reject_unauth_destination" ||
                    w == "defer_unauth_destination" || w == "defer") {
                    error(who + " has no permit_sasl_authenticated before " + w + " in " + p +
                          ": logged-in users cannot send");
                    break;
                }
            }
        }
        if (sasl) {
            sasl_path(who, effective(s, "smtpd_sasl_type"), effective(s, "smtpd_sasl_path"));
        }
    }

    void sasl_path(const std::string& who, const std::string& type, const std::string& path) {
        // Dovecot SASL paths are unix sockets unless they say inet:.
        std::string ep = path.starts_with("inet:") ? path : "unix:" + path;
        if (type != "dovecot" || reaches_any(ep, ours_.authd, queue_)) {
            return;
        }
        warning(who + ": smtpd_sasl_path = " + path +
                " is not vhostmail-authd's socket"
                " (authd_dovecot_listen = " +
                joined(ours_.authd) + ")");
    }

    void lmtp() {
        std::string t = value("virtual_transport");
        if (!t.starts_with("lmtp:")) {
            return;
        }
        std::string ep = t.substr(5);
        std::erase(ep, '[');
        std::erase(ep, ']');
        if (!reaches_any(ep, ours_.lmtpd, queue_)) {
            error("virtual_transport = " + t +
                  " does not reach vhostmail-lmtpd (lmtpd_listen = " + joined(ours_.lmtpd) + ")");
        }
    }

    // Whether a milter list (smtpd_milters, non_smtpd_milters) names vhostmail-milter's socket;
    // warns about a path Postfix's chrooted daemons cannot reach.
    bool names_our_milter(const std::string& who, const std::string& list) {
        bool found = false;
        for (const auto& w : words(list)) {
            if (!w.starts_with("unix:") && !w.starts_with("inet:")) {
                continue;  // "{", settings such as default_action=...
            }
            if (!reaches_any(w, ours_.milter, queue_)) {
                continue;
            }
            found = true;
            if (w.starts_with("unix:/") && !queue_.empty() &&
                w.substr(5).starts_with(queue_ + "/")) {
                warning(who + " names " + w +
                        " by its absolute path: Postfix's chrooted smtpd and"
                        " cleanup look for it inside the chroot; name it relative to the queue"
                        " directory (unix:" +
                        w.substr(5 + queue_.size() + 1) + ")");
            }
        }
        return found;
    }

    void milter() {
        const std::string socket = joined(ours_.milter);
        bool submission_wired = false;
        for (const auto& s : pf_.services) {
            if (!submission(s)) {
                continue;
            }
            if (names_our_milter("master.cf service " + s.name, effective(s, "smtpd_milters"))) {
                submission_wired = true;
            } else {
                warning("master.cf service " + s.name +
                        ": smtpd_milters does not reach"
                        " vhostmail-milter (milter_listen = " +
                        socket +
                        "): logged-in users' From is not checked and their mail is not signed");
            }
        }
        bool local_wired =
            names_our_milter("main.cf non_smtpd_milters", value("non_smtpd_milters"));
        if (!local_wired) {
            warning("non_smtpd_milters does not reach vhostmail-milter (milter_listen = " + socket +
                    "): mail injected with sendmail (vacation replies) is not signed");
        }
        if (names_our_milter("main.cf smtpd_milters", value("smtpd_milters"))) {
            warning(
                "main.cf smtpd_milters has vhostmail-milter: mail arriving on port 25 then"
                " waits for it too; give it to the submission service only (-o"
                " smtpd_milters=...)");
        }
        if ((submission_wired || local_wired) &&
            ascii_lower(value("milter_default_action")) != "tempfail") {
            warning("milter_default_action = " + value("milter_default_action") +
                    ": when vhostmail-milter cannot be reached, mail goes out unchecked and"
                    " unsigned; set it to tempfail");
        }
    }

    // Whether `parameter` names a table of lookupd's `map`.
    bool uses_map(const char* parameter, const char* map) const {
        bool stray = false;
        for (const auto& table : words(value(parameter))) {
            if (map_of(table, stray) == map) {
                return true;
            }
        }
        return false;
    }

    // docs/srs.md: both maps with their classes, and an SRS domain that Postfix accepts.
    void srs(const std::set<std::string>& hosted) {
        const bool forward = uses_map("sender_canonical_maps", "srs_forward");
        const bool reverse = uses_map("recipient_canonical_maps", "srs_reverse");
        if (ours_.srs_domain.empty()) {
            if (forward || reverse) {
                warning(
                    "Postfix asks lookupd's srs_forward/srs_reverse maps, but srs_domain is"
                    " empty: SRS is off and they find nothing");
            }
            return;
        }
        maps({"sender_canonical_maps", "srs_forward", false});
        maps({"recipient_canonical_maps", "srs_reverse", forward});
        if (forward) {
            std::string classes = value("sender_canonical_classes");
            if (has_word(classes, "header_sender")) {
                warning("sender_canonical_classes = " + classes +
                        ": SRS would rewrite the From and Sender headers too; use"
                        " envelope_sender");
            }
        }
        if (reverse) {
            std::string classes = value("recipient_canonical_classes");
            if (has_word(classes, "header_recipient")) {
                warning("recipient_canonical_classes = " + classes +
                        ": SRS addresses in To and Cc headers would be rewritten too; use"
                        " envelope_recipient");
            }
        }
        // Hosted: then its unknown users, forged SRS addresses among them, are refused at RCPT.
        // As a relay domain it would accept them and bounce later (backscatter).
        const std::string domain = ascii_lower(ours_.srs_domain);
        if (!hosted.contains(domain)) {
            error("srs_domain " + domain +
                  " is not a hosted domain: bounces to SRS addresses are refused as relaying"
                  " (or, listed in relay_domains, forged ones are accepted and bounced); add it"
                  " with no addresses and no catch-all: vhostmail domain add " +
                  domain);
        }
    }

    // docs/routing.md: a backup domain needs relay_domains and, above all, relay_recipient_maps
    // through lookupd; transports and relay hosts set in the database need their maps.
    void routing_maps(const routing_in_use& r) {
        if (!r.backup_domains.empty()) {
            std::string names;
            bool listed = true;
            for (const auto& d : r.backup_domains) {
                names += (names.empty() ? "" : " ") + d;
                listed = listed && has_word(ascii_lower(value("relay_domains")), d);
            }
            if (!listed) {
                maps({"relay_domains", "relay_domains", true});
            }
            if (!uses_map("relay_recipient_maps", "relay_recipients")) {
                error(
                    "relay_recipient_maps does not use vhostmail-lookupd's relay_recipients map"
                    " (" +
                    expected("relay_recipients") + ") while " + names +
                    " are backup domains: every address there is accepted and what the"
                    " primary refuses is bounced later, an open backscatter source");
            }
        }
        if (r.transports) {
            maps({"transport_maps", "transports", false});
        }
        if (r.relayhosts) {
            maps({"sender_dependent_relayhost_maps", "relayhosts", false});
        }
    }

    const postfix_settings& pf_;
    const daemon_endpoints& ours_;
    const std::set<std::string>* backup_ = nullptr;  // run()'s routing_in_use
    std::string queue_;
    std::vector<finding> out_;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> postconf_assignments(const std::string& text) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& line : split_list(text, "\n")) {
        auto eq = line.find(" = ");
        if (eq != std::string::npos) {
            out.emplace_back(line.substr(0, eq), line.substr(eq + 3));
        } else if (line.ends_with(" =")) {
            out.emplace_back(line.substr(0, line.size() - 2), "");
        }
    }
    return out;
}

std::optional<std::string> postconf_output(const std::string& postconf, const std::string& dir,
                                           std::vector<std::string> args, std::string& error) {
    std::vector<std::string> argv{postconf};
    if (!dir.empty()) {
        argv.insert(argv.end(), {"-c", dir});
    }
    argv.insert(argv.end(), args.begin(), args.end());
    os::program_options o;
    o.time_limit = std::chrono::seconds(30);
    o.max_output = 4 << 20;
    auto r = os::run_program(argv, "", o);
    if (r.what != os::program_result::kind::exited || r.status != 0) {
        error =
            "cannot run " + postconf + (dir.empty() ? "" : " -c " + dir) + " " + args[0] +
            (r.error.empty() ? " (exit status " + std::to_string(r.status) + ")" : ": " + r.error);
        return std::nullopt;
    }
    return r.output;
}

const std::vector<std::string>& postfix_parameters() {
    static const std::vector<std::string> names{"queue_directory",
                                                "virtual_mailbox_domains",
                                                "virtual_alias_maps",
                                                "virtual_mailbox_maps",
                                                "smtpd_sender_login_maps",
                                                "mydestination",
                                                "virtual_alias_domains",
                                                "relay_domains",
                                                "smtpd_relay_restrictions",
                                                "smtpd_recipient_restrictions",
                                                "smtpd_client_restrictions",
                                                "smtpd_helo_restrictions",
                                                "smtpd_sender_restrictions",
                                                "smtpd_sasl_auth_enable",
                                                "smtpd_sasl_type",
                                                "smtpd_sasl_path",
                                                "virtual_transport",
                                                "smtpd_milters",
                                                "non_smtpd_milters",
                                                "milter_default_action",
                                                "sender_canonical_maps",
                                                "sender_canonical_classes",
                                                "recipient_canonical_maps",
                                                "recipient_canonical_classes",
                                                "relay_recipient_maps",
                                                "transport_maps",
                                                "sender_dependent_relayhost_maps"};
    return names;
}

std::optional<postfix_settings> read_postfix(const std::string& postconf, const std::string& dir,
                                             std::string& error) {
    std::vector<std::string> args{"-x"};
    args.insert(args.end(), postfix_parameters().begin(), postfix_parameters().end());
    auto main = postconf_output(postconf, dir, args, error);
    auto master = main ? postconf_output(postconf, dir, {"-M"}, error) : std::nullopt;
    auto overrides = master ? postconf_output(postconf, dir, {"-P", "-x"}, error) : std::nullopt;
    if (!overrides) {
        return std::nullopt;
    }
    postfix_settings pf;
    for (auto& [name, value] : postconf_assignments(*main)) {
        pf.main[name] = value;
    }
    for (const auto& line : split_list(*master, "\n")) {
        auto f = words(line);
        if (f.size() >= 8) {
            pf.services.push_back({f[0], f[1], f[7], {}});
        }
    }
    for (auto& [key, value] : postconf_assignments(*overrides)) {
        auto parts = split_list(key, "/");  // service/type/name
        for (auto& s : pf.services) {
            if (parts.size() == 3 && s.name == parts[0] && s.type == parts[1]) {
                s.overrides[parts[2]] = value;
            }
        }
    }
    return pf;
}

std::vector<finding> judge_postfix(const postfix_settings& pf, const daemon_endpoints& ours,
                                   const std::set<std::string>& hosted,
                                   const routing_in_use& routing) {
    return judge(pf, ours).run(hosted, routing);
}

}  // namespace vhostmail::admin
