// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/admin_store.hh"

#include <cstdlib>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

namespace {

enum class kind { boolean, text, multiline, count, size, logins, fallback, path, datetime, seconds };

struct column {
    const char* name;  // setting name = column name (a fixed identifier, never user input)
    kind type;
    const char* help;
};

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
};

const std::vector<column> vacation_columns = {
    {"enabled", kind::boolean, "yes/no"},
    {"subject", kind::text, "subject of the reply"},
    {"body", kind::multiline, "text of the reply"},
    {"starts_at", kind::datetime, "YYYY-MM-DD [HH:MM[:SS]] UTC, or none"},
    {"ends_at", kind::datetime, "YYYY-MM-DD [HH:MM[:SS]] UTC, or none"},
    {"interval_seconds", kind::seconds, "at most one reply per sender per interval, e.g. 7d"},
};

std::vector<std::pair<std::string, std::string>> help_of(const std::vector<column>& cols) {
    std::vector<std::pair<std::string, std::string>> out;
    for (const auto& c : cols) {
        out.emplace_back(c.name, c.help);
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

std::optional<uint64_t> parse_number(std::string_view v, uint64_t unit_base) {
    if (v.empty()) {
        return std::nullopt;
    }
    uint64_t multiplier = 1;
    char last = v.back();
    std::string_view units = unit_base == 1024 ? "kKmMgGtT" : unit_base == 60 ? "smhdw" : "";
    if (units.find(last) != std::string_view::npos) {
        v.remove_suffix(1);
        if (unit_base == 1024) {
            int power = 1 + static_cast<int>(std::string_view("kmgt").find(
                                static_cast<char>(last | 0x20)));
            for (int i = 0; i < power; ++i) {
                multiplier *= 1024;
            }
        } else {
            const uint64_t seconds[] = {1, 60, 3600, 86400, 604800};
            multiplier = seconds[std::string_view("smhdw").find(last)];
        }
    }
    if (v.empty() || v.size() > 15 || v.find_first_not_of("0123456789") != std::string_view::npos) {
        return std::nullopt;
    }
    return std::strtoull(std::string(v).c_str(), nullptr, 10) * multiplier;
}

bool valid_fallback(std::string_view f) {
    if (f.empty() || (f.front() == '|' && f.size() > 1)) {
        return true;
    }
    if (f.front() == '@') {
        return valid_domain(f.substr(1));
    }
    if (f.find('@') != std::string_view::npos) {
        return parse_address(f).has_value();
    }
    return valid_local_part(f) && f.find(' ') == std::string_view::npos;
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
        case kind::boolean:
            if (iequals(v, "yes") || iequals(v, "true") || iequals(v, "on") || v == "1") {
                return db::param{int64_t{1}};
            }
            if (iequals(v, "no") || iequals(v, "false") || iequals(v, "off") || v == "0") {
                return db::param{int64_t{0}};
            }
            return std::string("yes or no");
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
            auto n = parse_number(v, c.type == kind::size ? 1024 : c.type == kind::seconds ? 60 : 0);
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
            if (!valid_fallback(v)) {
                return std::string("'', user@domain, @domain, localpart or |command");
            }
            return db::param{v};
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
    }
    return std::string("?");
}

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
            return "bad value for " + name + ": \"" + printable(raw) + "\" (expected " +
                   *expected + ")";
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

fields row_fields(const db::result& r, const std::vector<std::string>& names) {
    fields out;
    if (!r.rows.empty()) {
        for (size_t i = 0; i < names.size(); ++i) {
            out.emplace_back(names[i], r.rows.front().str(i));
        }
    }
    return out;
}

}  // namespace

std::optional<settings> parse_settings(const std::vector<std::string>& words, std::string& error) {
    settings out;
    for (const auto& w : words) {
        auto eq = w.find('=');
        if (eq == std::string::npos || eq == 0) {
            error = "expected name=value, got \"" + printable(w) + "\"";
            return std::nullopt;
        }
        out.emplace_back(w.substr(0, eq), w.substr(eq + 1));
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

template <typename F>
admin_result<done> admin_store::in_transaction(F&& body) {
    if (auto b = conn_.begin(); !b) {
        return db_failure(b.error());
    }
    admin_result<done> r = body();
    if (!r) {
        (void)conn_.rollback();  // the failure is what the admin needs to see
        return r;
    }
    if (auto c = conn_.commit(); !c) {
        return db_failure(c.error());
    }
    return r;
}

admin_result<uint64_t> admin_store::domain_id(const std::string& name, bool lock) {
    auto normalized = normalize_domain(name);
    if (!normalized) {
        return admin_failure{"invalid domain name \"" + printable(name) + "\""};
    }
    auto r = conn_.query(lock ? "SELECT id FROM domains WHERE name = ? FOR UPDATE"
                              : "SELECT id FROM domains WHERE name = ?",
                         {db::param{*normalized}});
    if (!r) {
        return db_failure(r.error());
    }
    if (r->rows.empty()) {
        return admin_failure{"no such domain " + *normalized};
    }
    return r->rows.front().u64(0);
}

admin_result<admin_store::address_key> admin_store::find_address(const std::string& address,
                                                                bool must_exist) {
    auto parts = parse_address(address);
    if (!parts) {
        return admin_failure{"invalid address \"" + printable(address) + "\""};
    }
    auto dom = domain_id(parts->domain, true);
    if (!dom) {
        auto alias = conn_.query("SELECT d.name FROM domain_aliases a JOIN domains d ON"
                                 " d.id = a.domain_id WHERE a.name = ?",
                                 {db::param{parts->domain}});
        if (alias && !alias->rows.empty()) {
            return admin_failure{parts->domain + " is a domain alias: use " + parts->local + "@" +
                                 alias->rows.front().str(0)};
        }
        return admin_failure{"address outside the hosted domains: " + parts->domain +
                             " is not hosted here"};
    }
    address_key key{*dom, 0, parts->local, parts->domain};
    auto r = conn_.query("SELECT id FROM addresses WHERE domain_id = ? AND local_part = ?",
                         {db::param{*dom}, db::param{parts->local}});
    if (!r) {
        return db_failure(r.error());
    }
    if (!r->rows.empty()) {
        key.address_id = r->rows.front().u64(0);
    } else if (must_exist) {
        return admin_failure{"no such address " + parts->local + "@" + parts->domain};
    }
    return key;
}

admin_result<done> admin_store::check_limit(uint64_t id, bool mailbox) {
    auto r = conn_.query(
        mailbox ? "SELECT d.max_mailboxes, (SELECT COUNT(*) FROM addresses a WHERE"
                  " a.domain_id = d.id AND a.mailbox) FROM domains d WHERE d.id = ?"
                : "SELECT d.max_aliases, (SELECT COUNT(*) FROM addresses a WHERE"
                  " a.domain_id = d.id AND NOT a.mailbox) FROM domains d WHERE d.id = ?",
        {db::param{id}});
    if (!r) {
        return db_failure(r.error());
    }
    if (!r->rows.empty() && !r->rows.front().is_null(0) &&
        r->rows.front().u64(1) >= r->rows.front().u64(0)) {
        return admin_failure{std::string("limit reached: the domain allows at most ") +
                             r->rows.front().str(0) + (mailbox ? " mailboxes" : " aliases")};
    }
    return done{};
}

admin_result<done> admin_store::add_domain(const std::string& name, const settings& s) {
    auto normalized = normalize_domain(name);
    if (!normalized) {
        return admin_failure{"invalid domain name \"" + printable(name) + "\""};
    }
    std::vector<std::string> names{"name"};
    std::vector<db::param> values{db::param{*normalized}};
    if (auto bad = bind_settings(domain_columns, s, names, values)) {
        return admin_failure{*bad};
    }
    std::string marks;
    for (size_t i = 0; i < names.size(); ++i) {
        marks += i == 0 ? "?" : ", ?";
    }
    std::string cols;
    for (const auto& n : names) {
        cols += (cols.empty() ? "" : ", ") + n;
    }
    return in_transaction([&]() -> admin_result<done> {
        auto r = conn_.query("INSERT INTO domains (" + cols + ") VALUES (" + marks + ")", values);
        if (!r) {
            auto f = db_failure(r.error());
            return r.error().code == 1062 ? admin_failure{"domain " + *normalized + " already exists"}
                                          : f;
        }
        return done{};
    });
}

admin_result<done> admin_store::remove_domain(const std::string& name) {
    return in_transaction([&]() -> admin_result<done> {
        auto id = domain_id(name, true);
        if (!id) {
            return id.failure();
        }
        auto r = conn_.query("DELETE FROM domains WHERE id = ?", {db::param{*id}});
        return r ? admin_result<done>(done{}) : db_failure(r.error());
    });
}

admin_result<done> admin_store::set_domain(const std::string& name, const settings& s) {
    std::vector<std::string> names;
    std::vector<db::param> values;
    if (auto bad = bind_settings(domain_columns, s, names, values)) {
        return admin_failure{*bad};
    }
    if (names.empty()) {
        return admin_failure{"nothing to set"};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto id = domain_id(name, true);
        if (!id) {
            return id.failure();
        }
        values.push_back(db::param{*id});
        auto r = conn_.query("UPDATE domains SET " + assignments(names) + " WHERE id = ?", values);
        return r ? admin_result<done>(done{}) : db_failure(r.error());
    });
}

admin_result<table> admin_store::list_domains() {
    auto r = conn_.query(
        "SELECT d.name, IF(d.enabled, 'yes', 'no'), IF(d.accepts_mail, 'yes', 'no'),"
        " (SELECT COUNT(*) FROM addresses a WHERE a.domain_id = d.id AND a.mailbox),"
        " (SELECT COUNT(*) FROM addresses a WHERE a.domain_id = d.id AND NOT a.mailbox),"
        " COALESCE((SELECT GROUP_CONCAT(x.name ORDER BY x.name SEPARATOR ',') FROM"
        " domain_aliases x WHERE x.domain_id = d.id), ''), d.fallback FROM domains d"
        " ORDER BY d.name");
    if (!r) {
        return db_failure(r.error());
    }
    table t{{"domain", "enabled", "accepts_mail", "mailboxes", "aliases", "domain_aliases",
             "fallback"},
            {}};
    for (const auto& row : r->rows) {
        std::vector<std::string> cells;
        for (size_t i = 0; i < t.columns.size(); ++i) {
            cells.push_back(row.str(i));
        }
        t.rows.push_back(std::move(cells));
    }
    return t;
}

admin_result<fields> admin_store::show_domain(const std::string& name) {
    auto id = domain_id(name, false);
    if (!id) {
        return id.failure();
    }
    std::vector<std::string> names{"name"};
    std::string cols = "name";
    for (const auto& c : domain_columns) {
        names.push_back(c.name);
        cols += std::string(", ") + c.name;
    }
    auto r = conn_.query("SELECT " + cols + " FROM domains WHERE id = ?", {db::param{*id}});
    if (!r) {
        return db_failure(r.error());
    }
    fields f = row_fields(*r, names);
    auto extra = conn_.query(
        "SELECT COALESCE((SELECT GROUP_CONCAT(name ORDER BY name SEPARATOR ',') FROM"
        " domain_aliases WHERE domain_id = ?), ''),"
        " (SELECT COUNT(*) FROM addresses WHERE domain_id = ? AND mailbox),"
        " (SELECT COUNT(*) FROM addresses WHERE domain_id = ? AND NOT mailbox),"
        " COALESCE((SELECT GROUP_CONCAT(CONCAT(a.local_part, '@', d.name) SEPARATOR ',') FROM"
        " domain_admins x JOIN addresses a ON a.id = x.address_id JOIN domains d ON"
        " d.id = a.domain_id WHERE x.domain_id = ?), '')",
        {db::param{*id}, db::param{*id}, db::param{*id}, db::param{*id}});
    if (!extra) {
        return db_failure(extra.error());
    }
    auto more = row_fields(*extra, {"domain_aliases", "mailboxes", "aliases", "admins"});
    f.insert(f.end(), more.begin(), more.end());
    return f;
}

admin_result<done> admin_store::add_domain_alias(const std::string& alias,
                                                 const std::string& domain) {
    auto normalized = normalize_domain(alias);
    if (!normalized) {
        return admin_failure{"invalid domain name \"" + printable(alias) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto id = domain_id(domain, true);
        if (!id) {
            return id.failure();
        }
        auto r = conn_.query("INSERT INTO domain_aliases (name, domain_id) VALUES (?, ?)",
                             {db::param{*normalized}, db::param{*id}});
        if (!r) {
            return r.error().code == 1062
                       ? admin_failure{"domain alias " + *normalized + " already exists"}
                       : db_failure(r.error());
        }
        return done{};
    });
}

admin_result<done> admin_store::remove_domain_alias(const std::string& alias) {
    auto normalized = normalize_domain(alias);
    if (!normalized) {
        return admin_failure{"invalid domain name \"" + printable(alias) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto r = conn_.query("DELETE FROM domain_aliases WHERE name = ?", {db::param{*normalized}});
        if (!r) {
            return db_failure(r.error());
        }
        if (r->affected_rows == 0) {
            return admin_failure{"no such domain alias " + *normalized};
        }
        return done{};
    });
}

admin_result<done> admin_store::add_address(const std::string& address, const settings& s) {
    std::vector<std::string> names{"domain_id", "local_part"};
    std::vector<db::param> values{db::param{int64_t{0}}, db::param{std::string()}};
    if (auto bad = bind_settings(address_columns, s, names, values)) {
        return admin_failure{*bad};
    }
    bool mailbox = false;
    for (size_t i = 0; i < names.size(); ++i) {
        if (names[i] == "mailbox") {
            mailbox = std::get<int64_t>(values[i]) == 1;
        }
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(address, false);
        if (!key) {
            return key.failure();
        }
        if (key->address_id != 0) {
            return admin_failure{"address " + key->local + "@" + key->domain + " already exists"};
        }
        if (auto limit = check_limit(key->domain_id, mailbox); !limit) {
            return limit;
        }
        values[0] = db::param{key->domain_id};
        values[1] = db::param{key->local};
        std::string cols, marks;
        for (size_t i = 0; i < names.size(); ++i) {
            cols += (i == 0 ? "" : ", ") + names[i];
            marks += i == 0 ? "?" : ", ?";
        }
        auto r = conn_.query("INSERT INTO addresses (" + cols + ") VALUES (" + marks + ")", values);
        return r ? admin_result<done>(done{}) : db_failure(r.error());
    });
}

admin_result<done> admin_store::remove_address(const std::string& address) {
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(address, true);
        if (!key) {
            return key.failure();
        }
        // Grants name a local part, not an address row: withdraw those that named this one.
        auto grants = conn_.query("DELETE FROM send_grants WHERE domain_id = ? AND local_part = ?",
                                  {db::param{key->domain_id}, db::param{key->local}});
        if (!grants) {
            return db_failure(grants.error());
        }
        auto r = conn_.query("DELETE FROM addresses WHERE id = ?", {db::param{key->address_id}});
        return r ? admin_result<done>(done{}) : db_failure(r.error());
    });
}

admin_result<done> admin_store::set_address(const std::string& address, const settings& s) {
    std::vector<std::string> names;
    std::vector<db::param> values;
    if (auto bad = bind_settings(address_columns, s, names, values)) {
        return admin_failure{*bad};
    }
    if (names.empty()) {
        return admin_failure{"nothing to set"};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(address, true);
        if (!key) {
            return key.failure();
        }
        for (size_t i = 0; i < names.size(); ++i) {
            auto* on = std::get_if<int64_t>(&values[i]);
            if (names[i] == "mailbox" && on != nullptr && *on == 1) {
                auto had = conn_.query("SELECT mailbox FROM addresses WHERE id = ?",
                                       {db::param{key->address_id}});
                if (!had) {
                    return db_failure(had.error());
                }
                if (!had->rows.front().boolean(0)) {
                    if (auto limit = check_limit(key->domain_id, true); !limit) {
                        return limit;
                    }
                }
            }
        }
        values.push_back(db::param{key->address_id});
        auto r = conn_.query("UPDATE addresses SET " + assignments(names) + " WHERE id = ?",
                             values);
        return r ? admin_result<done>(done{}) : db_failure(r.error());
    });
}

admin_result<table> admin_store::list_addresses(const std::string& domain) {
    auto id = domain_id(domain, false);
    if (!id) {
        return id.failure();
    }
    auto r = conn_.query(
        "SELECT CONCAT(a.local_part, '@', d.name), IF(a.enabled, 'yes', 'no'),"
        " IF(a.mailbox, 'yes', 'no'), IF(a.password IS NULL OR a.password = '', 'no', 'yes'),"
        " COALESCE((SELECT GROUP_CONCAT(f.destination ORDER BY f.destination SEPARATOR ',')"
        " FROM forwardings f WHERE f.address_id = a.id), ''), a.full_name"
        " FROM addresses a JOIN domains d ON d.id = a.domain_id WHERE a.domain_id = ?"
        " ORDER BY a.local_part",
        {db::param{*id}});
    if (!r) {
        return db_failure(r.error());
    }
    table t{{"address", "enabled", "mailbox", "password", "forwards", "full_name"}, {}};
    for (const auto& row : r->rows) {
        std::vector<std::string> cells;
        for (size_t i = 0; i < t.columns.size(); ++i) {
            cells.push_back(row.str(i));
        }
        t.rows.push_back(std::move(cells));
    }
    return t;
}

admin_result<fields> admin_store::show_address(const std::string& address) {
    auto key = find_address(address, true);
    if (!key) {
        return key.failure();
    }
    auto r = conn_.query(
        "SELECT CONCAT(a.local_part, '@', d.name), IF(a.enabled, 'yes', 'no'),"
        " IF(a.mailbox, 'yes', 'no'),"
        " IF(a.mailbox, COALESCE(a.maildir, CONCAT(d.name, '/', a.local_part, '/')), ''),"
        " COALESCE(a.quota_bytes, ''), COALESCE(a.quota_messages, ''),"
        " IF(a.password IS NULL OR a.password = '', 'no', 'yes'), a.full_name, a.logins,"
        " COALESCE((SELECT GROUP_CONCAT(f.destination ORDER BY f.destination SEPARATOR ',')"
        " FROM forwardings f WHERE f.address_id = a.id), ''),"
        " COALESCE((SELECT GROUP_CONCAT(IF(g.local_part = '', CONCAT('@', t.name),"
        " CONCAT(g.local_part, '@', t.name)) ORDER BY t.name, g.local_part SEPARATOR ',')"
        " FROM send_grants g JOIN domains t ON t.id = g.domain_id WHERE g.address_id = a.id), ''),"
        " IF(EXISTS (SELECT 1 FROM vacations v WHERE v.address_id = a.id AND v.enabled),"
        " 'yes', 'no')"
        " FROM addresses a JOIN domains d ON d.id = a.domain_id WHERE a.id = ?",
        {db::param{key->address_id}});
    if (!r) {
        return db_failure(r.error());
    }
    return row_fields(*r, {"address", "enabled", "mailbox", "maildir", "quota_bytes",
                           "quota_messages", "password", "full_name", "logins", "forwards",
                           "may_send_as", "vacation"});
}

admin_result<done> admin_store::add_forward(const std::string& address,
                                            const std::string& destination) {
    auto dest = parse_address(destination);
    if (!dest) {
        return admin_failure{"invalid destination \"" + printable(destination) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(address, true);
        if (!key) {
            return key.failure();
        }
        auto r = conn_.query("INSERT INTO forwardings (address_id, destination) VALUES (?, ?)",
                             {db::param{key->address_id},
                              db::param{dest->local + "@" + dest->domain}});
        if (!r) {
            return r.error().code == 1062 ? admin_failure{"already forwarded there"}
                                          : db_failure(r.error());
        }
        return done{};
    });
}

admin_result<done> admin_store::remove_forward(const std::string& address,
                                               const std::string& destination) {
    auto dest = parse_address(destination);
    if (!dest) {
        return admin_failure{"invalid destination \"" + printable(destination) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(address, true);
        if (!key) {
            return key.failure();
        }
        auto r = conn_.query("DELETE FROM forwardings WHERE address_id = ? AND destination = ?",
                             {db::param{key->address_id},
                              db::param{dest->local + "@" + dest->domain}});
        if (!r) {
            return db_failure(r.error());
        }
        return r->affected_rows == 0 ? admin_result<done>(admin_failure{"no such forwarding"})
                                     : admin_result<done>(done{});
    });
}

namespace {

// "@domain" or "local@domain" -> (local or "", domain); nullopt when invalid.
std::optional<std::pair<std::string, std::string>> grant_target(const std::string& target) {
    if (target.starts_with("@")) {
        auto d = normalize_domain(target.substr(1));
        return d ? std::optional(std::pair{std::string(), *d}) : std::nullopt;
    }
    auto a = parse_address(target);
    return a ? std::optional(std::pair{a->local, a->domain}) : std::nullopt;
}

}  // namespace

admin_result<done> admin_store::add_grant(const std::string& login, const std::string& target) {
    auto t = grant_target(target);
    if (!t) {
        return admin_failure{"invalid grant target \"" + printable(target) +
                             "\" (local@domain or @domain)"};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(login, true);
        if (!key) {
            return key.failure();
        }
        auto target_domain = domain_id(t->second, false);
        if (!target_domain) {
            return target_domain.failure();
        }
        auto r = conn_.query(
            "INSERT INTO send_grants (address_id, domain_id, local_part) VALUES (?, ?, ?)",
            {db::param{key->address_id}, db::param{*target_domain}, db::param{t->first}});
        if (!r) {
            return r.error().code == 1062 ? admin_failure{"already granted"}
                                          : db_failure(r.error());
        }
        return done{};
    });
}

admin_result<done> admin_store::remove_grant(const std::string& login, const std::string& target) {
    auto t = grant_target(target);
    if (!t) {
        return admin_failure{"invalid grant target \"" + printable(target) + "\""};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(login, true);
        if (!key) {
            return key.failure();
        }
        auto target_domain = domain_id(t->second, false);
        if (!target_domain) {
            return target_domain.failure();
        }
        auto r = conn_.query(
            "DELETE FROM send_grants WHERE address_id = ? AND domain_id = ? AND local_part = ?",
            {db::param{key->address_id}, db::param{*target_domain}, db::param{t->first}});
        if (!r) {
            return db_failure(r.error());
        }
        return r->affected_rows == 0 ? admin_result<done>(admin_failure{"no such grant"})
                                     : admin_result<done>(done{});
    });
}

admin_result<done> admin_store::set_password_hash(const std::string& address,
                                                  const std::optional<std::string>& hash) {
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(address, true);
        if (!key) {
            return key.failure();
        }
        db::param value = hash ? db::param{*hash} : db::param{nullptr};
        auto r = conn_.query("UPDATE addresses SET password = ? WHERE id = ?",
                             {value, db::param{key->address_id}});
        return r ? admin_result<done>(done{}) : db_failure(r.error());
    });
}

admin_result<done> admin_store::set_vacation(const std::string& address, const settings& s) {
    std::vector<std::string> names;
    std::vector<db::param> values;
    if (auto bad = bind_settings(vacation_columns, s, names, values)) {
        return admin_failure{*bad};
    }
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(address, true);
        if (!key) {
            return key.failure();
        }
        auto ins = conn_.query("INSERT IGNORE INTO vacations (address_id, body) VALUES (?, '')",
                               {db::param{key->address_id}});
        if (!ins) {
            return db_failure(ins.error());
        }
        if (names.empty()) {
            return done{};
        }
        values.push_back(db::param{key->address_id});
        auto r = conn_.query("UPDATE vacations SET " + assignments(names) + " WHERE address_id = ?",
                             values);
        if (!r) {
            return db_failure(r.error());
        }
        auto window = conn_.query("SELECT 1 FROM vacations WHERE address_id = ? AND"
                                  " starts_at IS NOT NULL AND ends_at IS NOT NULL AND"
                                  " ends_at <= starts_at",
                                  {db::param{key->address_id}});
        if (window && !window->rows.empty()) {
            return admin_failure{"ends_at must be after starts_at"};
        }
        return done{};
    });
}

admin_result<done> admin_store::clear_vacation(const std::string& address) {
    return in_transaction([&]() -> admin_result<done> {
        auto key = find_address(address, true);
        if (!key) {
            return key.failure();
        }
        auto r = conn_.query("DELETE FROM vacations WHERE address_id = ?",
                             {db::param{key->address_id}});
        return r ? admin_result<done>(done{}) : db_failure(r.error());
    });
}

admin_result<fields> admin_store::show_vacation(const std::string& address) {
    auto key = find_address(address, true);
    if (!key) {
        return key.failure();
    }
    auto r = conn_.query(
        "SELECT IF(enabled, 'yes', 'no'), subject, body, COALESCE(starts_at, ''),"
        " COALESCE(ends_at, ''), interval_seconds FROM vacations WHERE address_id = ?",
        {db::param{key->address_id}});
    if (!r) {
        return db_failure(r.error());
    }
    if (r->rows.empty()) {
        return admin_failure{"no vacation set for " + key->local + "@" + key->domain};
    }
    return row_fields(*r, {"enabled", "subject", "body", "starts_at", "ends_at",
                           "interval_seconds"});
}

}  // namespace vhostmail::vhost
