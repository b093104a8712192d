// SPDX-License-Identifier: Apache-2.0
// schema.hh - the routing data of one domain and its addresses as the resolver sees it
// (sql/migrations/0001_initial.sql is the source of truth). Plain values, no behaviour.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

namespace vhostmail::vhost {

// Login services, as the SET('smtp','imap','pop3','sieve') columns hold them.
enum login_service : unsigned {
    login_smtp = 1u << 0,
    login_imap = 1u << 1,
    login_pop3 = 1u << 2,
    login_sieve = 1u << 3,
};

// Parses a MariaDB SET value ("smtp,imap"); unknown words are ignored.
unsigned parse_login_set(std::string_view set);

struct vacation_window {
    bool enabled = false;
    std::optional<std::time_t> starts_at;  // UTC seconds; nullopt: no start limit
    std::optional<std::time_t> ends_at;    // nullopt: open-ended

    bool active_at(std::time_t now) const {
        return enabled && (!starts_at || *starts_at <= now) && (!ends_at || now < *ends_at);
    }
};

struct address_record {
    uint64_t id = 0;
    std::string local_part;  // lower case
    bool enabled = true;
    bool mailbox = false;
    std::string
        maildir;  // relative to the mail base, ends in '/'; "" when the address has no mailbox
    bool has_password = false;
    std::string full_name;
    unsigned logins = login_smtp | login_imap | login_pop3 | login_sieve;
    std::optional<uint64_t> quota_bytes;  // nullopt: the domain's default
    std::optional<uint64_t> quota_messages;
    std::vector<std::string> forwards;
    std::optional<vacation_window> vacation;
};

struct domain_record {
    uint64_t id = 0;
    std::string name;  // canonical, lower case
    bool enabled = true;
    bool accepts_mail = true;
    std::string reject_text;
    unsigned logins = login_smtp | login_imap | login_pop3 | login_sieve;
    std::optional<uint64_t> quota_bytes;
    std::optional<uint64_t> quota_messages;
    std::optional<uint64_t> max_message_size;
    std::string fallback;
    std::string filter_command;
    bool fullname_matching = false;
};

// The default Maildir of an address: "<domain>/<local>/".
std::string default_maildir(std::string_view domain, std::string_view local_part);

// "Joe  van-Who" -> "joe.van.who": ASCII letters folded, runs of anything that is not a letter,
// digit or non-ASCII byte become one '.', so a local part and a full name compare equal.
std::string normalize_full_name(std::string_view name);

}  // namespace vhostmail::vhost
