// SPDX-License-Identifier: Apache-2.0
// schema.hh - the routing data of one domain and its addresses as the resolver sees it
// (sql/migrations/0001_initial.sql is the source of truth). Plain values, no behaviour.
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
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
// The same from the SET's number (`logins + 0`): bit i is the i-th member of the column's
// declaration, smtp, imap, pop3, sieve (sql/migrations/0001_initial.sql), as login_service.
unsigned login_set_bits(uint64_t set_number);

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
    std::string transport;  // transport_maps value for this address; "" = its domain's
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
    bool backup = false;    // role 'backup' (docs/routing.md): relay to the primary, no delivery
    std::string transport;  // transport_maps value for the domain; "" = the default
    std::string relayhost;  // sender_dependent_relayhost_maps value; "" = Postfix's relayhost
};

// The default Maildir of an address: "<domain>/<local>/"; "" when the local part cannot name
// a directory of its own (see storable_local_part), so the path check refuses it.
std::string default_maildir(std::string_view domain, std::string_view local_part);
// The same into `out`, reusing its buffer.
void assign_default_maildir(std::string& out, std::string_view domain, std::string_view local_part);
// maildir == default_maildir(domain, local_part), not empty; without building that string.
bool is_default_maildir(std::string_view maildir, std::string_view domain,
                        std::string_view local_part);

// A local part the database may hold: valid for Postfix (valid_local_part) and usable as the
// last component of a default Maildir path: no '/', not "." or "..", so no address can have its
// Maildir inside another address's mailbox or outside its domain's directory.
bool storable_local_part(std::string_view local);

// A domain's fallback (catch-all) as every reader must understand it. The stored text is
// interpreted after trimming blanks (space, tab, CR, LF) on both ends; a command is the text
// after a leading '|', trimmed again. This is the one interpretation: the resolver routes by it
// and the admin store decides permissions by it, so the two cannot disagree about whether a
// value runs a program.
struct fallback_rule {
    enum class kind {
        none,     // "": unknown addresses are rejected
        command,  // "|/path args": pipe to a program (target = the command line)
        domain,   // "@other.example": the same local part there (target = "other.example")
        address,  // "user@other.example" (target = the address)
        local,    // "localpart": another address of the same domain (target = the local part)
    } what = kind::none;
    std::string target;
};

fallback_rule parse_fallback(std::string_view stored);

// The canonical text of a rule (what the admin tool stores): "", "|cmd", "@d", "u@d", "local".
std::string fallback_text(const fallback_rule& rule);

// A Postfix next hop as relayhost and transport_maps take it: host, host:port, [host],
// [host]:port, [1.2.3.4]:port or [ipv6:2001:db8::1]:port; host is a hostname (LDH labels), port
// a number 1-65535 or a service name. What the admin tool stores and lookupd answers.
bool valid_nexthop(std::string_view nexthop);

// A transport_maps value vhostmail accepts for a domain: "name:nexthop" with a master.cf service
// name ([a-z0-9][a-z0-9_-]*, at most 32) and a next hop as above, empty, or (for lmtp) unix:/path
// or inet:nexthop. Nothing with blanks, commas or control bytes.
bool valid_transport(std::string_view transport);

// "Joe  van-Who" -> "joe.van.who": ASCII letters folded, runs of anything that is not a letter,
// digit or non-ASCII byte become one '.', so a local part and a full name compare equal.
std::string normalize_full_name(std::string_view name);

}  // namespace vhostmail::vhost
