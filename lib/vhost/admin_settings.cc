// SPDX-License-Identifier: Apache-2.0
// admin_settings.cc - the name=value settings the admin tool accepts, and their checking.
#include "lib/vhost/admin_settings.hh"

#include <cstdlib>

#include "lib/config/params.hh"
#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/os/command.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

namespace {

std::vector<std::pair<std::string, std::string>> help_of(const std::vector<column>& cols) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& c : cols) {
        out.emplace_back(c.name, c.help);
    }
    return out;
}

// Counts, sizes and durations read as in the configuration file (lib/config's parsers), so
// "1T" and "90s" mean the same everywhere. Durations are stored in whole seconds.
std::optional<uint64_t> parse_number(std::string_view v, kind type) {
    switch (type) {
        case kind::size:
            return config::parse_size(v);
        case kind::seconds: {
            auto d = config::parse_duration(v);
            if (!d || d->count() % 1000 != 0) {
                return std::nullopt;
            }
            return static_cast<uint64_t>(d->count() / 1000);
        }
        default: {
            auto n = config::parse_int(v);
            if (!n || *n < 0) {
                return std::nullopt;
            }
            return static_cast<uint64_t>(*n);
        }
    }
}

// A fallback as stored: its canonical text, or what was expected instead. Interpreted by
// parse_fallback, the rule the resolver routes by, so what is checked here is what runs.
std::variant<db::param, std::string> convert_fallback(std::string_view raw) {
    const std::string expected = "'', user@domain, @domain, localpart or |/absolute/command";
    fallback_rule rule = parse_fallback(raw);
    if (printable(rule.target) != rule.target) {
        return expected;  // control characters inside: no reader could agree on them
    }
    switch (rule.what) {
        case fallback_rule::kind::none:
            break;
        case fallback_rule::kind::command: {
            auto argv = os::split_command(rule.target);
            if (!argv || argv->empty() || !argv->front().starts_with('/')) {
                return expected;
            }
            if (!os::tokens_in_script(*argv).empty()) {
                return std::string(
                    "no %d, %u or %f inside a shell's or interpreter's script: they would"
                    " run as code; pass them as arguments, e.g. |/bin/sh -c 'exec prog"
                    " \"$1\"' sh %u");
            }
            break;
        }
        case fallback_rule::kind::domain:
            if (!valid_domain(rule.target)) {
                return expected;
            }
            rule.target = ascii_lower(rule.target);
            break;
        case fallback_rule::kind::address: {
            auto a = parse_address(rule.target);
            if (!a) {
                return expected;
            }
            rule.target = a->local + "@" + a->domain;
            break;
        }
        case fallback_rule::kind::local:
            if (!valid_local_part(rule.target) || rule.target.find(' ') != std::string::npos) {
                return expected;
            }
            rule.target = normalize_local_part(rule.target);
            break;
    }
    return db::param{fallback_text(rule)};
}

bool valid_datetime(std::string_view v) {
    // YYYY-MM-DD, optionally followed by " HH:MM" or " HH:MM:SS".
    const std::string_view shapes[] = {"dddd-dd-dd", "dddd-dd-dd dd:dd", "dddd-dd-dd dd:dd:dd"};
    for (auto shape : shapes) {
        if (v.size() != shape.size()) {
            continue;
        }
        bool ok = true;
        for (size_t i = 0; i < v.size() && ok; ++i) {
            ok = shape[i] == 'd' ? (v[i] >= '0' && v[i] <= '9') : v[i] == shape[i];
        }
        if (ok) {
            return true;
        }
    }
    return false;
}

// The bound value of one setting, or a message saying what was expected.
std::variant<db::param, std::string> convert(const column& c, const std::string& raw) {
    std::string v(trim(raw));
    bool none = v.empty() || iequals(v, "none");
    switch (c.type) {
        case kind::optional_boolean:
        case kind::boolean:
            if (c.type == kind::optional_boolean && none) {
                return db::param{nullptr};
            }
            if (iequals(v, "yes") || iequals(v, "true") || iequals(v, "on") || v == "1") {
                return db::param{int64_t{1}};
            }
            if (iequals(v, "no") || iequals(v, "false") || iequals(v, "off") || v == "0") {
                return db::param{int64_t{0}};
            }
            return std::string(c.type == kind::boolean ? "yes or no" : "yes, no or none");
        case kind::text:
            if (printable(raw) != raw) {
                return std::string("text without control characters");
            }
            return db::param{raw};
        case kind::multiline:
            for (unsigned char ch : raw) {
                if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) {
                    return std::string("lines of text without control characters");
                }
            }
            return db::param{raw};
        case kind::count:
        case kind::size:
        case kind::seconds: {
            if (none && c.type != kind::seconds) {
                return db::param{nullptr};
            }
            auto n = parse_number(v, c.type);
            if (!n) {
                return std::string(c.type == kind::size      ? "a size like 500M or none"
                                   : c.type == kind::seconds ? "a duration like 7d"
                                                             : "a number or none");
            }
            return db::param{*n};
        }
        case kind::logins: {
            std::string set;
            if (!iequals(v, "none")) {
                for (const auto& w : split_list(v, ", ")) {
                    if (parse_login_set(w) == 0) {
                        return std::string("a list of smtp, imap, pop3, sieve, or none");
                    }
                    set += (set.empty() ? "" : ",") + ascii_lower(w);
                }
            }
            return db::param{set};
        }
        case kind::fallback:
            return convert_fallback(raw);
        case kind::path:
            if (none) {
                return db::param{nullptr};
            }
            if (v.front() == '/' || v.find("..") != std::string::npos || printable(v) != v) {
                return std::string("a relative path without ..");
            }
            return db::param{v};
        case kind::datetime:
            if (none) {
                return db::param{nullptr};
            }
            if (!valid_datetime(v)) {
                return std::string("YYYY-MM-DD [HH:MM[:SS]] or none");
            }
            return db::param{v};
        case kind::role:
            if (iequals(v, "primary") || iequals(v, "backup")) {
                return db::param{ascii_lower(v)};
            }
            return std::string("primary or backup");
        case kind::transport:
            if (none) {
                return db::param{std::string()};
            }
            if (!valid_transport(v)) {
                return std::string(
                    "a transport like smtp:[mail.example.net]:25 or lmtp:unix:/path");
            }
            return db::param{v};
        case kind::nexthop:
            if (none) {
                return db::param{std::string()};
            }
            if (!valid_nexthop(v)) {
                return std::string("a host like [smtp.example.net]:587");
            }
            return db::param{v};
    }
    return std::string("?");
}

}  // namespace

const std::vector<column> domain_columns = {
    {"enabled", kind::boolean, "yes/no: the domain is hosted"},
    {"accepts_mail", kind::boolean, "yes/no: no = all incoming mail is rejected"},
    {"reject_text", kind::text, "the text mail is rejected with when accepts_mail=no"},
    {"logins", kind::logins, "services its users may log in to: smtp,imap,pop3,sieve (or none)"},
    {"max_mailboxes", kind::count, "most mailboxes (none = unlimited)"},
    {"max_aliases", kind::count, "most addresses without a mailbox (none = unlimited)"},
    {"quota_bytes", kind::size, "default mailbox quota, e.g. 2G (none = unlimited)"},
    {"quota_messages", kind::count, "default mailbox message limit (none = unlimited)"},
    {"max_message_size", kind::size, "largest message accepted, e.g. 25M (none = global limit)"},
    {"fallback", kind::fallback, "catch-all: '' | user@other | @other | localpart | '|command'"},
    {"filter_command", kind::text, "program every message passes through at delivery"},
    {"fullname_matching", kind::boolean, "yes/no: first.last@ reaches the mailbox of that name"},
    {"from_any_in_domain", kind::boolean,
     "yes/no: its logins may put any of its addresses in From: (shared mailboxes)"},
    {"role", kind::role,
     "primary (its mail is delivered here) or backup (a backup MX: accepted for its known"
     " addresses only, relayed to the primary)"},
    {"transport", kind::transport,
     "where its mail goes instead of the default, e.g. smtp:[mail.example.net]:25 (none ="
     " default)"},
    {"relayhost", kind::nexthop,
     "smarthost for mail sent from it, e.g. [smtp.example.net]:587 (none = Postfix's"
     " relayhost)"},
    {"description", kind::text, "free text"},
};

const std::vector<column> address_columns = {
    {"enabled", kind::boolean, "yes/no"},
    {"mailbox", kind::boolean, "yes/no: local Maildir delivery"},
    {"maildir", kind::path, "Maildir relative to the mail base (default domain/local/)"},
    {"quota_bytes", kind::size, "mailbox quota, e.g. 1G (none = the domain's default, 0 = none)"},
    {"quota_messages", kind::count, "message limit (none = the domain's default, 0 = none)"},
    {"full_name", kind::text, "for full-name matching and display"},
    {"logins", kind::logins, "services this address may log in to: smtp,imap,pop3,sieve"},
    {"from_any_in_domain", kind::optional_boolean,
     "yes/no: as the domain's setting, for this login (none = the domain's)"},
    {"transport", kind::transport,
     "where this address's mail goes instead of its domain's way, e.g."
     " smtp:[new.example.net]:25 (none = the domain's)"},
};

const std::vector<column> vacation_columns = {
    {"enabled", kind::boolean, "yes/no"},
    {"subject", kind::text, "subject of the reply"},
    {"body", kind::multiline, "text of the reply"},
    {"starts_at", kind::datetime, "YYYY-MM-DD [HH:MM[:SS]] UTC, or none"},
    {"ends_at", kind::datetime, "YYYY-MM-DD [HH:MM[:SS]] UTC, or none"},
    {"interval_seconds", kind::seconds, "at most one reply per sender per interval, e.g. 7d"},
};

// Checks `s` against `cols`; fills "col = ?" assignments and their values.
std::optional<std::string> bind_settings(const std::vector<column>& cols, const settings& s,
                                         std::vector<std::string>& names,
                                         std::vector<db::param>& values) {
    for (const auto& [name, raw] : s) {
        const column* c = nullptr;
        for (const auto& candidate : cols) {
            if (name == candidate.name) {
                c = &candidate;
            }
        }
        if (c == nullptr) {
            return "unknown setting \"" + name + "\"";
        }
        auto converted = convert(*c, raw);
        if (auto* expected = std::get_if<std::string>(&converted)) {
            return "bad value for " + name + ": \"" + printable(raw) + "\" (expected " + *expected +
                   ")";
        }
        names.push_back(c->name);
        values.push_back(std::get<db::param>(converted));
    }
    return std::nullopt;
}

std::string assignments(const std::vector<std::string>& names) {
    std::string out;
    for (const auto& n : names) {
        out += (out.empty() ? "" : ", ") + n + " = ?";
    }
    return out;
}

admin_failure db_failure(const db::error& e) {
    if (e.code == 1062) {
        return {"already exists", false};
    }
    if (e.code == 1644) {  // SIGNAL from a trigger: its text is for people
        return {e.message, false};
    }
    return {"database error: " + e.message, e.temporary};
}

std::optional<settings> parse_settings(const std::vector<std::string>& words, std::string& error) {
    settings out;
    for (const auto& w : words) {
        auto eq = w.find('=');
        if (eq == std::string::npos || trim(std::string_view(w).substr(0, eq)).empty()) {
            error = "expected name=value, got \"" + printable(w) + "\"";
            return std::nullopt;
        }
        // Names are fixed lower-case identifiers; "Fallback" and " fallback" mean the same.
        out.emplace_back(ascii_lower(trim(std::string_view(w).substr(0, eq))), w.substr(eq + 1));
    }
    return out;
}

const std::vector<std::pair<std::string, std::string>>& domain_setting_help() {
    static const auto help = help_of(domain_columns);
    return help;
}

const std::vector<std::pair<std::string, std::string>>& address_setting_help() {
    static const auto help = help_of(address_columns);
    return help;
}

}  // namespace vhostmail::vhost
