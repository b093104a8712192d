// SPDX-License-Identifier: Apache-2.0
// cmd_import_layouts.cc - vhostmail import howto | postfixadmin: the layouts admins migrate
// from. Every row goes through admin_store (its checks, limits and duplicate detection) inside
// one transaction: a conflict anywhere (a domain or address that already exists) aborts the
// whole import. Password hashes are copied as they are; lib/crypto and Dovecot read crypt(3)
// strings ($1$ md5crypt, $5$, $6$, 13-character DES from MySQL's ENCRYPT()) with or without a
// {SCHEME} prefix. Rows that have no meaning here are listed as "skip" lines, never dropped
// silently.
#include <algorithm>
#include <cstdio>
#include <ctime>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/crypto/password.hh"
#include "lib/store/mailbox_path.hh"

#include "daemons/admin/admin.hh"
#include "daemons/admin/import_source.hh"

namespace vhostmail::admin {

namespace {

using vhost::admin_failure;
using vhost::admin_result;
using vhost::done;

bool truthy(const std::string& v) {
    return v == "1" || ascii_lower(v) == "yes";
}

std::string trimmed(std::string s) {
    auto b = s.find_first_not_of(" \t\r\n");
    auto e = s.find_last_not_of(" \t\r\n");
    return b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
}

class importer {
public:
    importer(vhost::admin_store& store, import_source& source) : store_(store), source_(source) {}

    std::vector<std::string> plan, skipped;

    admin_result<done> howto();
    admin_result<done> postfixadmin();

private:
    // Runs a store change; a failure names the source row.
    template <typename R>
    admin_result<done> step(R r, const std::string& what, const std::string& row) {
        if (!r) {
            return admin_failure{row + ": " + r.failure().message};
        }
        plan.push_back(what);
        return done{};
    }

    admin_result<source_table> table(const std::string& name, const std::vector<std::string>& c) {
        return source_.read(name, c);
    }

    admin_result<done> password(const std::string& address, const std::string& hash,
                                const std::string& row);
    admin_result<done> ensure(const std::string& address, const std::string& row);
    admin_result<done> forwards(const std::string& address, const std::string& destinations,
                                const std::string& row, bool self_is_mailbox);

    vhost::admin_store& store_;
    import_source& source_;
};

#define VHM_TRY(expr)                \
    do {                             \
        if (auto r_ = (expr); !r_) { \
            return r_.failure();     \
        }                            \
    } while (0)

// PostfixAdmin's "md5" setting stores a bare hex MD5 digest, which Dovecot reads only with
// default_pass_scheme = PLAIN-MD5; stored with its scheme named, it verifies everywhere.
std::string with_scheme(const std::string& hash) {
    bool hex_md5 =
        hash.size() == 32 && hash.find_first_not_of("0123456789abcdef") == std::string::npos;
    return hex_md5 ? "{PLAIN-MD5}" + hash : hash;
}

admin_result<done> importer::password(const std::string& address, const std::string& stored,
                                      const std::string& row) {
    if (stored.empty()) {
        return done{};
    }
    std::string hash = with_scheme(stored);
    if (crypto::scheme_of(hash).empty()) {
        skipped.push_back(address +
                          ": password hash of an unknown scheme kept, but it cannot"
                          " log in until the password is set again");
    }
    return step(store_.set_password_hash(address, hash),
                "keep password hash of " + address + " (" +
                    (crypto::scheme_of(hash).empty() ? "unknown" : crypto::scheme_of(hash)) + ")",
                row);
}

admin_result<done> importer::ensure(const std::string& address, const std::string& row) {
    auto created = store_.ensure_address(address);
    if (!created) {
        return admin_failure{row + ": " + created.failure().message};
    }
    if (*created) {
        plan.push_back("add address " + address);
    }
    return done{};
}

// Comma-separated destinations of an alias or forwarding row.
admin_result<done> importer::forwards(const std::string& address, const std::string& list,
                                      const std::string& row, bool self_is_mailbox) {
    for (const auto& raw : split_list(list, ",")) {
        std::string d = ascii_lower(trimmed(raw));
        if (d.empty() || (self_is_mailbox && d == ascii_lower(address))) {
            continue;  // PostfixAdmin lists a mailbox as its own alias: it keeps its copy
        }
        std::string relay = ascii_lower(address);
        std::replace(relay.begin(), relay.end(), '@', '#');
        if (d.starts_with(relay + "@") || d.substr(d.find('@') + 1).starts_with("autoreply.")) {
            skipped.push_back(address + " -> " + d +
                              ": PostfixAdmin's vacation relay (the"
                              " vacation itself is imported)");
            continue;
        }
        auto r = store_.add_forward(address, d);
        if (!r && r.failure().already) {
            continue;
        }
        VHM_TRY(step(r, "forward " + address + " -> " + d, row));
    }
    return done{};
}

// HowtoForge-style "Postfix + MySQL virtual users": domains(domain), forwardings(source,
// destination) (or aliases), users(email, password, quota in bytes), transport.
admin_result<done> importer::howto() {
    auto domains = table("domains", {"domain"});
    auto users = table("users", {"email", "password", "quota"});
    auto forwardings = table("forwardings", {"source", "destination"});
    VHM_TRY(domains);
    VHM_TRY(users);
    VHM_TRY(forwardings);
    if (!forwardings->present) {
        forwardings = table("aliases", {"source", "destination"});
        VHM_TRY(forwardings);
    }
    if (!domains->present || !users->present) {
        return admin_failure{"no howto tables here (domains, users, forwardings)"};
    }
    for (const auto& r : domains->rows) {
        std::string d = text_of(r, "domain");
        VHM_TRY(step(store_.add_domain(d, {}), "add domain " + d, "domains " + d));
    }
    for (const auto& r : users->rows) {
        std::string a = text_of(r, "email");
        vhost::settings s{{"mailbox", "yes"}};
        if (!text_of(r, "quota").empty()) {
            s.emplace_back("quota_bytes", text_of(r, "quota"));
        }
        VHM_TRY(step(store_.add_address(a, s), "add mailbox " + a, "users " + a));
        VHM_TRY(password(a, text_of(r, "password"), "users " + a));
    }
    for (const auto& r : forwardings->rows) {
        std::string src = ascii_lower(trimmed(text_of(r, "source")));
        std::string dst = trimmed(text_of(r, "destination"));
        std::string row = "forwardings " + src;
        if (src.starts_with("@")) {
            VHM_TRY(step(store_.set_domain(src.substr(1), {{"fallback", dst}}),
                         "catch-all " + src + " -> " + dst, row));
            continue;
        }
        VHM_TRY(ensure(src, row));
        VHM_TRY(forwards(src, dst, row, true));
    }
    auto transport = table("transport", {"domain"});
    VHM_TRY(transport);
    if (transport->present && !transport->rows.empty()) {
        skipped.push_back("transport: " + std::to_string(transport->rows.size()) +
                          " row(s); vhostmail routes hosted domains itself (virtual_transport)");
    }
    return done{};
}

// PostfixAdmin stores a quota of n "MB" as n * $CONF['quota_multiplier'] bytes, 1024000 unless
// the site changed it; a domain's per-mailbox maximum (maxquota) is kept in those MB.
constexpr unsigned long long postfixadmin_megabyte = 1024000;

std::string postfixadmin_megabytes(const std::string& mb) {
    return std::to_string(std::strtoull(mb.c_str(), nullptr, 10) * postfixadmin_megabyte);
}

// A PostfixAdmin limit: 0 unlimited, -1 none allowed, n at most n.
std::optional<std::string> limit(const std::string& v) {
    if (v.empty() || v == "0") {
        return std::nullopt;
    }
    return v.starts_with("-") ? "0" : v;
}

// Text from PostfixAdmin's web form: browsers submit a textarea's line ends as CRLF.
std::string lf_text(const std::string& text) {
    std::string out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '\r') {
            out += text[i];
        } else if (i + 1 == text.size() || text[i + 1] != '\n') {
            out += '\n';
        }
    }
    return out;
}

// A DATETIME/TIMESTAMP as UTC; nullopt for MySQL's zero date and anything before 1970.
std::optional<std::time_t> utc_time(const std::string& when) {
    std::tm tm{};
    char rest = 0;
    if (std::sscanf(when.c_str(), "%4d-%2d-%2d %2d:%2d:%2d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                    &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &rest) != 6 ||
        tm.tm_year < 1970) {
        return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

// PostfixAdmin's reply interval: 0 replies once per sender while the vacation lasts (its whole
// window here, at most what interval_seconds holds), any other value is seconds, but at least
// one day (RFC 3834 asks for no more than a reply a day; PostfixAdmin's 1 means every message).
std::optional<std::string> reply_interval(const std::string& interval, const std::string& from,
                                          const std::string& until) {
    constexpr long long day = 86400;
    long long n = std::strtoll(interval.c_str(), nullptr, 10);
    if (n == 0) {
        auto a = utc_time(from), b = utc_time(until);
        if (!a || !b || *b <= *a) {
            return std::nullopt;
        }
        n = *b - *a;
    }
    constexpr long long most = 4294967295LL;  // interval_seconds INT UNSIGNED
    return std::to_string(std::clamp(n, day, most));
}

admin_result<done> importer::postfixadmin() {
    auto domains = table("domain", {"domain", "description", "aliases", "mailboxes", "maxquota",
                                    "quota", "backupmx", "active"});
    auto mailboxes =
        table("mailbox", {"username", "password", "name", "maildir", "quota", "active"});
    auto aliases = table("alias", {"address", "goto", "active"});
    auto alias_domains = table("alias_domain", {"alias_domain", "target_domain", "active"});
    auto vacations = table("vacation", {"email", "subject", "body", "activefrom", "activeuntil",
                                        "interval_time", "active"});
    auto admins = table("admin", {"username", "password", "superadmin", "active"});
    auto domain_admins = table("domain_admins", {"username", "domain", "active"});
    for (auto* t :
         {&domains, &mailboxes, &aliases, &alias_domains, &vacations, &admins, &domain_admins}) {
        VHM_TRY(*t);
    }
    if (!domains->present || !mailboxes->present || !aliases->present) {
        return admin_failure{"no PostfixAdmin tables here (domain, mailbox, alias)"};
    }
    // Domains whose addresses are not imported, and why. PostfixAdmin keeps every alias domain
    // as a row of `domain` too (its form offers only those); it becomes our domain alias.
    std::map<std::string, std::string> not_hosted;
    std::map<std::string, std::pair<std::string, bool>> alias_targets;  // target, active
    for (const auto& r : alias_domains->rows) {
        alias_targets[ascii_lower(text_of(r, "alias_domain"))] = {
            ascii_lower(text_of(r, "target_domain")), truthy(text_of(r, "active"))};
    }
    std::map<std::string, bool> domain_active;
    std::vector<std::pair<std::string, vhost::settings>> limits;
    for (const auto& r : domains->rows) {
        std::string d = ascii_lower(text_of(r, "domain"));
        domain_active[d] = truthy(text_of(r, "active"));
        if (d == "all" || alias_targets.contains(d)) {
            continue;  // PostfixAdmin's pseudo-domain of superadmins; alias domains below
        }
        if (truthy(text_of(r, "backupmx"))) {
            skipped.push_back(d + ": a backup MX domain (relay_domains), not hosted");
            not_hosted[d] = "the backup MX domain " + d + ", which is not imported";
            continue;
        }
        vhost::settings s{{"enabled", domain_active[d] ? "yes" : "no"},
                          {"description", text_of(r, "description")}};
        if (auto q = limit(text_of(r, "maxquota")); q && *q != "0") {
            s.emplace_back("quota_bytes", postfixadmin_megabytes(*q));
        }
        VHM_TRY(step(store_.add_domain(d, s), "add domain " + d, "domain " + d));
        if (auto total = limit(text_of(r, "quota")); total && *total != "0") {
            skipped.push_back(d + ": its total quota of " + *total +
                              " MB (vhostmail limits each mailbox, not a domain's sum)");
        }
        vhost::settings l;
        if (auto m = limit(text_of(r, "mailboxes"))) {
            l.emplace_back("max_mailboxes", *m);
        }
        if (auto a = limit(text_of(r, "aliases"))) {
            l.emplace_back("max_aliases", *a);
        }
        if (!l.empty()) {
            limits.emplace_back(d, l);
        }
    }
    for (const auto& [a, target] : alias_targets) {
        // Postfix used the alias only while both its alias_domain row and its domain row (where
        // there is one) were active: PostfixAdmin's alias-domain and virtual-domain maps.
        const auto& [t, active] = target;
        auto row = domain_active.find(a);
        if (!active || (row != domain_active.end() && !row->second)) {
            skipped.push_back(a + " -> " + t + ": an inactive domain alias");
            not_hosted[a] = "the inactive domain alias " + a + ", which is not imported";
            continue;
        }
        not_hosted[a] = "the domain alias " + a + " (mail to it follows the alias to " + t + ")";
        VHM_TRY(step(store_.add_domain_alias(a, t), "add domain alias " + a + " -> " + t,
                     "alias_domain " + a));
    }
    std::set<std::string> with_mailbox;
    for (const auto& r : mailboxes->rows) {
        std::string a = ascii_lower(text_of(r, "username"));
        if (auto n = not_hosted.find(split_address(a).domain); n != not_hosted.end()) {
            return admin_failure{"mailbox " + a + ": a mailbox in " + n->second};
        }
        vhost::settings s{{"mailbox", "yes"},
                          {"full_name", text_of(r, "name")},
                          {"quota_bytes", text_of(r, "quota").empty() ? "0" : text_of(r, "quota")},
                          {"enabled", truthy(text_of(r, "active")) ? "yes" : "no"}};
        std::string maildir = text_of(r, "maildir");
        if (!maildir.empty() && store::check_mailbox_path(maildir).ok()) {
            s.emplace_back("maildir", maildir.ends_with("/") ? maildir : maildir + "/");
        } else if (!maildir.empty()) {
            skipped.push_back(a + ": maildir \"" + printable(maildir) +
                              "\" is not a safe relative path; the default is used");
        }
        VHM_TRY(step(store_.add_address(a, s), "add mailbox " + a, "mailbox " + a));
        VHM_TRY(password(a, text_of(r, "password"), "mailbox " + a));
        with_mailbox.insert(a);
    }
    for (const auto& r : aliases->rows) {
        std::string a = ascii_lower(trimmed(text_of(r, "address")));
        std::string row = "alias " + a;
        std::string go = trimmed(text_of(r, "goto"));
        if (auto n = not_hosted.find(split_address(a).domain); n != not_hosted.end()) {
            skipped.push_back(a + " -> " + go + ": an address in " + n->second);
            continue;
        }
        if (a.starts_with("@")) {
            if (go.find(',') != std::string::npos) {
                return admin_failure{row + ": a catch-all takes exactly one destination"};
            }
            VHM_TRY(step(store_.set_domain(a.substr(1), {{"fallback", go}}),
                         "catch-all " + a + " -> " + go, row));
            continue;
        }
        bool mailbox = with_mailbox.contains(a);
        if (!mailbox) {
            VHM_TRY(ensure(a, row));
            if (!truthy(text_of(r, "active"))) {
                VHM_TRY(step(store_.set_address(a, {{"enabled", "no"}}), "disable " + a, row));
            }
        }
        VHM_TRY(forwards(a, go, row, mailbox));
    }
    for (const auto& r : vacations->rows) {
        std::string a = ascii_lower(text_of(r, "email"));
        std::string subject = lf_text(text_of(r, "subject"));
        std::replace(subject.begin(), subject.end(), '\n', ' ');
        vhost::settings s{{"enabled", truthy(text_of(r, "active")) ? "yes" : "no"},
                          {"subject", trimmed(subject)},
                          {"body", lf_text(text_of(r, "body"))}};
        std::string from = text_of(r, "activefrom"), until = text_of(r, "activeuntil");
        for (auto [when, to] : {std::pair{from, "starts_at"}, {until, "ends_at"}}) {
            if (!when.empty() && !when.starts_with("0000")) {
                s.emplace_back(to, when);
            }
        }
        if (auto i = reply_interval(text_of(r, "interval_time"), from, until)) {
            s.emplace_back("interval_seconds", *i);
        }
        VHM_TRY(step(store_.set_vacation(a, s), "set the vacation of " + a, "vacation " + a));
    }
    std::map<std::string, std::string> admin_hashes;
    for (const auto& r : admins->rows) {
        admin_hashes[ascii_lower(text_of(r, "username"))] = text_of(r, "password");
    }
    for (const auto& r : domain_admins->rows) {
        std::string login = ascii_lower(text_of(r, "username"));
        std::string d = ascii_lower(text_of(r, "domain"));
        std::string row = "domain_admins " + login;
        if (d == "all") {
            skipped.push_back(login +
                              ": a PostfixAdmin superadmin; superadmins use the full"
                              " configuration, not a login");
            continue;
        }
        if (!truthy(text_of(r, "active"))) {
            skipped.push_back(login + " for " + d + ": an inactive domain admin");
            continue;
        }
        if (auto n = not_hosted.find(d); n != not_hosted.end()) {
            skipped.push_back(login + " for " + d + ": administers " + n->second);
            continue;
        }
        auto created = store_.ensure_address(login);
        if (!created) {
            skipped.push_back(login + " for " + d + ": " + created.failure().message);
            continue;
        }
        if (*created) {
            plan.push_back("add address " + login + " (an administrator's login)");
            VHM_TRY(password(login, admin_hashes[login], row));
        }
        VHM_TRY(step(store_.add_domain_admin(login, d),
                     "make " + login + " an administrator of " + d, row));
    }
    for (const auto& [d, l] : limits) {
        VHM_TRY(step(store_.set_domain(d, l), "set the limits of " + d, "domain " + d));
    }
    return done{};
}

#undef VHM_TRY

int import_layout(context& ctx, const words& a, bool postfixadmin) {
    std::string usage = std::string("usage: vhostmail import ") +
                        (postfixadmin ? "postfixadmin" : "howto") +
                        " (--from-db NAME | --from-dump FILE) [--dry-run]\n";
    std::optional<std::string> from_db, from_dump;
    bool dry_run = false;
    for (size_t i = 0; i < a.size(); ++i) {
        if ((a[i] == "--from-db" || a[i] == "--from-dump") && i + 1 < a.size()) {
            (a[i] == "--from-db" ? from_db : from_dump) = a[i + 1];
            ++i;
        } else if (a[i] == "--dry-run") {
            dry_run = true;
        } else {
            std::fputs(usage.c_str(), stderr);
            return exit_usage;
        }
    }
    if (from_db.has_value() == from_dump.has_value()) {
        std::fputs(usage.c_str(), stderr);
        return exit_usage;
    }
    std::string error;
    std::optional<import_source> source;
    if (from_dump) {
        source = import_source::dump(*from_dump, error);
    } else if (db::connection* conn = ctx.conn(); conn != nullptr) {
        source = import_source::database(*conn, *from_db, error);
    } else {
        return exit_failed;
    }
    if (!source) {
        return ctx.fail(error);
    }
    return with_store(ctx, [&](vhost::admin_store& store) {
        importer imp(store, *source);
        auto r =
            store.batch([&] { return postfixadmin ? imp.postfixadmin() : imp.howto(); }, !dry_run);
        if (!r) {
            return ctx.fail(r.failure().message + " (nothing imported)");
        }
        for (const auto& step : imp.plan) {
            std::printf("%s%s\n", dry_run ? "would " : "", step.c_str());
        }
        for (const auto& s : imp.skipped) {
            std::printf("skip %s\n", s.c_str());
        }
        return print_done(ctx, (dry_run ? "dry run: nothing changed, " : "imported: ") +
                                   std::to_string(imp.plan.size()) + " change(s)");
    });
}

int import_howto(context& ctx, const words& a) {
    return import_layout(ctx, a, false);
}

int import_postfixadmin(context& ctx, const words& a) {
    return import_layout(ctx, a, true);
}

}  // namespace

std::vector<command> import_layout_commands() {
    const char* args = "(--from-db NAME | --from-dump FILE) [--dry-run]";
    const char* how =
        "--from-db reads another database on the same server (the tool's database user needs\n"
        "SELECT there); --from-dump reads a mysqldump file without running it. One transaction:\n"
        "a conflict (a domain or address that exists already) imports nothing. Password hashes\n"
        "are kept as they are.\n";
    return {
        {"import howto", args,
         "import the classic Postfix+MySQL howto tables (domains, forwardings, users)", 2, 3,
         import_howto, how, true},
        {"import postfixadmin", args,
         "import a PostfixAdmin database (domains, mailboxes, aliases, vacations, admins)", 2, 3,
         import_postfixadmin, how, true},
    };
}

}  // namespace vhostmail::admin
