// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/record_rows.hh"

#include "lib/core/strings.hh"

namespace vhostmail::vhost {

namespace {

std::string qualified(std::initializer_list<std::string_view> columns, std::string_view table) {
    std::string out;
    for (auto c : columns) {
        out += (out.empty() ? "" : ", ") + std::string(table) + std::string(c);
    }
    return out;
}

}  // namespace

std::string domain_select_list(std::string_view table) {
    return qualified(
        {"id", "name", "enabled", "accepts_mail", "reject_text", "logins", "quota_bytes",
         "quota_messages", "max_message_size", "fallback", "filter_command", "fullname_matching"},
        table);
}

std::string address_select_list(std::string_view table) {
    std::string t(table);
    return qualified({"id", "local_part", "enabled", "mailbox", "maildir"}, table) + ", " + t +
           "password IS NOT NULL AND " + t + "password <> '', " +
           qualified({"full_name", "logins", "quota_bytes", "quota_messages"}, table);
}

domain_record domain_from_row(const db::row& r, size_t first) {
    domain_record d;
    d.id = r.u64(first);
    d.name = ascii_lower(r.str(first + 1));
    d.enabled = r.boolean(first + 2);
    d.accepts_mail = r.boolean(first + 3);
    d.reject_text = r.str(first + 4);
    d.logins = parse_login_set(r.str(first + 5));
    d.quota_bytes = r.opt_u64(first + 6);
    d.quota_messages = r.opt_u64(first + 7);
    d.max_message_size = r.opt_u64(first + 8);
    d.fallback = r.str(first + 9);
    d.filter_command = r.str(first + 10);
    d.fullname_matching = r.boolean(first + 11);
    return d;
}

address_record address_from_row(const db::row& r, size_t first, const std::string& domain_name) {
    address_record a;
    a.id = r.u64(first);
    a.local_part = ascii_lower(r.str(first + 1));
    a.enabled = r.boolean(first + 2);
    a.mailbox = r.boolean(first + 3);
    if (a.mailbox) {
        a.maildir = r.str(first + 4);
        if (a.maildir.empty()) {
            a.maildir = default_maildir(domain_name, a.local_part);
        } else if (a.maildir.back() != '/') {
            a.maildir += '/';
        }
    }
    a.has_password = r.boolean(first + 5);
    a.full_name = r.str(first + 6);
    a.logins = parse_login_set(r.str(first + 7));
    a.quota_bytes = r.opt_u64(first + 8);
    a.quota_messages = r.opt_u64(first + 9);
    return a;
}

}  // namespace vhostmail::vhost
