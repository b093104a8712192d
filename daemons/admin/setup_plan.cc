// SPDX-License-Identifier: Apache-2.0
#include "daemons/admin/setup_plan.hh"

#include <algorithm>
#include <cctype>

#include "lib/config/config_file.hh"
#include "lib/core/strings.hh"

namespace vhostmail::admin {

namespace {

// The words of a value: split at blanks and commas.
std::vector<std::string> value_words(std::string_view v) {
    std::vector<std::string> out;
    std::string word;
    for (char c : v) {
        if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
            if (!word.empty()) {
                out.push_back(std::move(word));
                word.clear();
            }
        } else {
            word += c;
        }
    }
    if (!word.empty()) {
        out.push_back(std::move(word));
    }
    return out;
}

std::string single_spaced(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) {
        out += (out.empty() ? "" : " ") + w;
    }
    return out;
}

}  // namespace

std::optional<assignments> main_cf_assignments(std::string_view text, std::string_view file,
                                               std::string& error) {
    auto parsed = config::parse_config(text, file);
    if (!parsed.errors.empty()) {
        error = parsed.errors.front();
        return std::nullopt;
    }
    assignments out;
    for (auto& e : parsed.entries) {
        out.emplace_back(std::move(e.name), std::move(e.value));
    }
    return out;
}

bool same_postfix_value(std::string_view a, std::string_view b) {
    return value_words(a) == value_words(b);
}

main_cf_plan plan_main_cf(const std::map<std::string, std::string>& current,
                          const assignments& wanted,
                          const std::map<std::string, std::string>& applied, bool force) {
    main_cf_plan plan;
    for (const auto& [name, value] : wanted) {
        auto now = current.find(name);
        if (now == current.end() || now->second.empty()) {
            plan.changes.push_back({name, "", value});
            continue;
        }
        if (same_postfix_value(now->second, value)) {
            continue;
        }
        auto ours = applied.find(name);
        bool written_by_setup =
            ours != applied.end() && same_postfix_value(ours->second, now->second);
        if (!written_by_setup && !force) {
            plan.conflicts.push_back("main.cf sets " + name + " = " + now->second +
                                     "; setup would set " + name + " = " + value);
            continue;
        }
        plan.changes.push_back({name, now->second, value});
    }
    return plan;
}

std::optional<master_service> parse_master_service(std::string_view text, std::string& error) {
    std::optional<master_service> service;
    for (const auto& raw : split_list(std::string(text), "\n")) {
        std::string line = raw;
        if (auto c = line.find_first_not_of(" \t"); c == std::string::npos || line[c] == '#') {
            continue;
        }
        bool continued = line.front() == ' ' || line.front() == '\t';
        if (!continued) {
            auto fields = split_list(line, " \t");
            if (service || fields.size() < 8) {
                error = service ? "more than one service" : "a service needs eight fields: " + line;
                return std::nullopt;
            }
            service = master_service{fields[0], fields[1], single_spaced(fields), {}};
            continue;
        }
        if (!service) {
            error = "an option line before the service: " + line;
            return std::nullopt;
        }
        std::string option(trim(line));
        if (!option.starts_with("-o ")) {
            error = "only -o lines may follow the service: " + option;
            return std::nullopt;
        }
        std::string setting(trim(std::string_view(option).substr(3)));
        if (setting.starts_with("{") && setting.ends_with("}")) {
            setting = std::string(trim(std::string_view(setting).substr(1, setting.size() - 2)));
        }
        auto eq = setting.find('=');
        if (eq == std::string::npos) {
            error = "-o without name=value: " + option;
            return std::nullopt;
        }
        service->overrides.emplace_back(
            std::string(trim(std::string_view(setting).substr(0, eq))),
            std::string(trim(std::string_view(setting).substr(eq + 1))));
    }
    if (!service) {
        error = "no service";
    }
    return service;
}

bool valid_account_host(const std::string& host) {
    return !host.empty() && host.size() <= 255 &&
           host.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
               "0123456789.-_:%/") == std::string::npos;
}

std::string grant_statement(const db_grant& g, const std::string& database, const std::string& user,
                            const std::string& host) {
    std::string privileges;
    for (const auto& p : g.privileges) {
        privileges += (privileges.empty() ? "" : ", ") + p;
        if (!g.column.empty()) {
            privileges += " (`" + g.column + "`)";
        }
    }
    return "GRANT " + privileges + " ON `" + database + "`.`" + g.table + "` TO '" + user + "'@'" +
           host + "'";
}

bool same_master_service(std::string_view postconf_line,
                         const std::map<std::string, std::string>& options,
                         const master_service& service) {
    // postconf -M prints the entry with its -o options after the eight fields.
    auto fields = split_list(postconf_line, " \t\n");
    fields.resize(std::min<size_t>(fields.size(), 8));
    bool same = single_spaced(fields) == service.line && options.size() == service.overrides.size();
    for (const auto& [name, value] : service.overrides) {
        auto it = options.find(name);
        same = same && it != options.end() && same_postfix_value(it->second, value);
    }
    return same;
}

const std::vector<db_account>& db_accounts() {
    auto read = [](const char* table) { return db_grant{{"SELECT"}, table, ""}; };
    auto keep = [](const char* table) {
        return db_grant{{"SELECT", "INSERT", "UPDATE", "DELETE"}, table, ""};
    };
    // Every daemon reads the routing data (snapshot or direct queries) and the schema version.
    const std::vector<db_grant> routing{
        read("domains"),          read("domain_aliases"), read("addresses"), read("forwardings"),
        read("send_grants"),      read("domain_admins"),  read("vacations"), read("routing_serial"),
        read("routing_versions"), read("schema_version")};
    auto with = [&routing](std::vector<db_grant> more) {
        std::vector<db_grant> all = routing;
        all.insert(all.end(), more.begin(), more.end());
        return all;
    };
    static const std::vector<db_account> accounts{
        {"lookupd", "vhostmail-lookupd", routing},
        // Logins, the optional rehash of weak hashes, the shared throttling state.
        {"authd",
         "vhostmail-authd",
         {read("domains"),
          read("addresses"),
          {{"UPDATE"}, "addresses", "password"},
          read("schema_version"),
          keep("auth_attempts"),
          keep("auth_trust")}},
        // Send limits, mailbox usage for the quota check, its counters and greylisting state.
        {"policyd", "vhostmail-policyd",
         with({read("send_limits"), read("mailbox_usage"), keep("rate_counters"),
               keep("counter_flushes"), keep("greylist"), keep("greylist_clients")})},
        // Delivery: the mailbox usage it keeps, vacation replies sent and queued.
        {"lmtpd", "vhostmail",
         with({{{"SELECT", "INSERT", "UPDATE"}, "mailbox_usage", ""},
               keep("vacation_notifications"),
               keep("autoreply_outbox")})},
        // The From check reads the routing data; signing, the keys' rows (never the keys).
        // Started as root to bind in Postfix's private directory; drops to its own user.
        {"milter", "vhostmail-milter", with({read("dkim_keys")}), false,
         "-o milter_user=vhostmail-milter"},
    };
    return accounts;
}

}  // namespace vhostmail::admin
