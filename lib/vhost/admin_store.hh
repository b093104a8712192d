// SPDX-License-Identifier: Apache-2.0
// admin_store.hh - the writes (and admin-facing reads) of the vhostmail admin tool.
// Every change runs in one transaction: it is applied whole or not at all. Domain limits are
// checked under a lock on the domain row, so two admins cannot both take the last slot.
// Settings are "name=value" pairs checked against a fixed table of columns (values are always
// bound parameters). Errors are one-line messages for people ("no such domain example.org").
// Thread safety: one admin_store per connection, one thread.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "lib/db/connection.hh"

namespace vhostmail::vhost {

struct column;  // admin_settings.hh (internal)

struct admin_failure {
    std::string message;
    bool temporary = false;  // database trouble: try again
    bool already = false;    // what was asked for is the case already (imports skip it)
};

template <typename T>
class admin_result {
public:
    admin_result(T v) : v_(std::in_place_index<0>, std::move(v)) {}

    admin_result(admin_failure f) : v_(std::in_place_index<1>, std::move(f)) {}

    bool ok() const { return v_.index() == 0; }

    explicit operator bool() const { return ok(); }

    T& value() { return std::get<0>(v_); }

    T& operator*() { return value(); }

    T* operator->() { return &value(); }

    const admin_failure& failure() const { return std::get<1>(v_); }

private:
    std::variant<T, admin_failure> v_;
};

struct done {};  // the value of a change that returns nothing

// One record for display: ordered (name, value) pairs; value "" for empty or unset.
using fields = std::vector<std::pair<std::string, std::string>>;

struct table {
    std::vector<std::string> columns;
    std::vector<std::vector<std::string>> rows;
};

// "name=value" settings as given on the command line.
using settings = std::vector<std::pair<std::string, std::string>>;

// Parses "name=value" words; nullopt (with `error` set) if one has no '='.
std::optional<settings> parse_settings(const std::vector<std::string>& words, std::string& error);

// The setting names the tool accepts for domains and for addresses, with a one-line help each.
const std::vector<std::pair<std::string, std::string>>& domain_setting_help();
const std::vector<std::pair<std::string, std::string>>& address_setting_help();

// What a domain administrator may touch: addresses, forwardings, grants, passwords and
// vacations of their own domains, and a few harmless domain settings. Everything else (new or
// removed domains, domain aliases, limits, programs, Maildir paths, other admins) is for the
// superadmin: whoever runs the tool with the full configuration and no --as.
struct admin_scope {
    std::string login;              // the domain administrator, for messages
    std::set<std::string> domains;  // the domains they administer (normalized names)
};

// What the admin tool needs to authenticate a domain administrator. The hash is checked by
// the tool (lib/crypto), not here.
struct admin_login {
    bool found = false;             // an existing, enabled address
    std::string password_hash;      // "" when it has none
    std::set<std::string> domains;  // the domains it administers
};

struct dkim_key_row {
    std::string domain, selector;
    std::string algorithm;  // "rsa-sha256" | "ed25519-sha256"
    std::string key_file, public_key;
    std::string state{};  // "new" | "active" | "retired"
    std::string created_at{}, activated_at{}, retired_at{};
};

class admin_store {
public:
    explicit admin_store(db::connection& conn) : conn_(conn) {}

    // From now on every method refuses, with a one-line message, what lies outside `s`.
    void restrict_to(admin_scope s) { scope_ = std::move(s); }

    // Done when the domain (or the domain an alias names) is in scope, or there is no scope.
    admin_result<done> may_manage(const std::string& domain);

    // The stored hash, state and administered domains of a login (an address).
    admin_result<admin_login> find_login(const std::string& login);

    // Runs body() with all its changes in one transaction, committed only when body succeeds
    // and `commit` is true (false: a dry run, rolled back).
    template <typename F>
    admin_result<done> batch(F&& body, bool commit);

    // Creates the address (no mailbox) unless it exists; true when it was created.
    admin_result<bool> ensure_address(const std::string& address);

    admin_result<done> add_domain(const std::string& name, const settings& s);
    admin_result<done> remove_domain(const std::string& name);
    admin_result<done> set_domain(const std::string& name, const settings& s);
    admin_result<table> list_domains();
    // The names of the hosted domains and domain aliases (within the caller's scope).
    admin_result<std::set<std::string>> hosted_names();

    // The domains with role=backup, and whether any domain has a transport / a relayhost.
    struct routing_use {
        std::set<std::string> backup_domains;
        bool transports = false;
        bool relayhosts = false;
    };

    admin_result<routing_use> routing_in_use();
    admin_result<fields> show_domain(const std::string& name);
    admin_result<done> add_domain_alias(const std::string& alias, const std::string& domain);
    admin_result<done> remove_domain_alias(const std::string& alias);

    admin_result<done> add_address(const std::string& address, const settings& s);
    admin_result<done> remove_address(const std::string& address);
    admin_result<done> set_address(const std::string& address, const settings& s);
    admin_result<table> list_addresses(const std::string& domain);
    admin_result<fields> show_address(const std::string& address);
    admin_result<done> add_forward(const std::string& address, const std::string& destination);
    admin_result<done> remove_forward(const std::string& address, const std::string& destination);
    // target: "local@domain" (one address) or "@domain" (the whole domain).
    admin_result<done> add_grant(const std::string& login, const std::string& target);
    admin_result<done> remove_grant(const std::string& login, const std::string& target);
    // hash: a password hash (never plain text); nullopt removes the password (receive-only).
    admin_result<done> set_password_hash(const std::string& address,
                                         const std::optional<std::string>& hash);

    // Domain administrators: addresses (logins) that may manage one domain's addresses.
    admin_result<done> add_domain_admin(const std::string& login, const std::string& domain);
    admin_result<done> remove_domain_admin(const std::string& login, const std::string& domain);
    admin_result<table> list_domain_admins(const std::string& domain);  // "" = all domains

    admin_result<done> set_vacation(const std::string& address, const settings& s);
    admin_result<done> clear_vacation(const std::string& address);
    admin_result<fields> show_vacation(const std::string& address);

    // DKIM keys (superadmin, except the lists): a new key is 'new' until activated; activating
    // retires the domain's active key of the same algorithm in the same transaction.
    admin_result<done> add_dkim_key(const dkim_key_row& key);
    admin_result<done> activate_dkim_key(const std::string& domain, const std::string& selector);
    admin_result<done> retire_dkim_key(const std::string& domain, const std::string& selector);
    // The keys of a domain ("" = all domains in scope), with the file each is in.
    admin_result<std::vector<dkim_key_row>> dkim_keys(const std::string& domain);
    // The names the domain's TXT records go under: the domain and its domain aliases.
    admin_result<std::vector<std::string>> dkim_names(const std::string& domain);

private:
    struct address_key {
        uint64_t domain_id = 0;
        uint64_t address_id = 0;  // 0: does not exist
        std::string local, domain;
    };

    template <typename F>
    admin_result<done> in_transaction(F&& body);
    // Adds (add) or removes a row linking two things, each end checked as its public caller's.
    admin_result<done> forward_link(const std::string& address, const std::string& destination,
                                    bool add);
    admin_result<done> grant_link(const std::string& login, const std::string& target, bool add);
    admin_result<done> domain_admin_link(const std::string& login, const std::string& domain,
                                         bool add);
    admin_result<uint64_t> domain_id(const std::string& name, bool lock);
    admin_result<address_key> find_address(const std::string& address, bool must_exist);
    admin_result<done> check_limit(uint64_t domain_id, bool mailbox);
    admin_result<done> in_scope(const std::string& normalized_domain) const;
    admin_result<done> superadmin_only(const std::string& what) const;
    // Whether a domain administrator may give these (converted) values; done without a scope.
    admin_result<done> scoped_settings(const std::vector<std::string>& names,
                                       const std::vector<db::param>& values, bool domain) const;
    // A domain administrator's address quotas stay within the domain's default: never
    // unlimited (0) nor above it, when the domain has one.
    admin_result<done> quotas_within_domain(uint64_t domain_id,
                                            const std::vector<std::string>& names,
                                            const std::vector<db::param>& values);
    // A domain administrator may not change an address whose own admin rights reach beyond
    // theirs (its password would give them those domains).
    admin_result<done> address_in_reach(uint64_t address_id);
    // find_address for a change: the address must also be within the caller's reach.
    admin_result<address_key> find_address_to_change(const std::string& address);
    // A "set" command's columns and values, checked against the caller's scope; refused when
    // there is nothing to set.
    admin_result<done> columns_to_set(const std::vector<column>& columns, const settings& s,
                                      bool domain, std::vector<std::string>& names,
                                      std::vector<db::param>& values) const;

    db::connection& conn_;
    bool batch_ = false;  // inside batch(): changes join its transaction
    std::optional<admin_scope> scope_;
};

template <typename F>
admin_result<done> admin_store::batch(F&& body, bool commit) {
    if (auto b = conn_.begin(); !b) {
        return admin_failure{"database error: " + b.error().message, b.error().temporary};
    }
    batch_ = true;
    admin_result<done> r = body();
    batch_ = false;
    if (!r || !commit) {
        (void)conn_.rollback();
        return r;
    }
    if (auto c = conn_.commit(); !c) {
        return admin_failure{"database error: " + c.error().message, c.error().temporary};
    }
    return r;
}

}  // namespace vhostmail::vhost
