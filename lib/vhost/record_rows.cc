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

// `logins + 0`: a SET as the number of its members' bits (login_set_bits), which costs the
// server and us far less than its text ("smtp,imap,pop3,sieve") on a million rows.
std::string domain_select_list(std::string_view table) {
    std::string t(table);
    return qualified({"id", "name", "enabled", "accepts_mail", "reject_text"}, table) + ", " + t +
           "logins + 0, " +
           qualified({"quota_bytes", "quota_messages", "max_message_size", "fallback",
                      "filter_command", "fullname_matching"},
                     table) +
           ", " + t + "role = 'backup', " + qualified({"transport", "relayhost"}, table);
}

std::string address_select_list(std::string_view table) {
    std::string t(table);
    return qualified({"id", "local_part", "enabled", "mailbox", "maildir"}, table) + ", " + t +
           "password IS NOT NULL AND " + t + "password <> '', " + qualified({"full_name"}, table) +
           ", " + t + "logins + 0, " +
           qualified({"quota_bytes", "quota_messages", "transport"}, table);
}

template <typename Row>
domain_record domain_from_row(const Row& r, size_t first) {
    domain_record d;
    d.id = r.u64(first);
    d.name = ascii_lower(r.str(first + 1));
    d.enabled = r.boolean(first + 2);
    d.accepts_mail = r.boolean(first + 3);
    d.reject_text = r.str(first + 4);
    d.logins = login_set_bits(r.u64(first + 5));
    d.quota_bytes = r.opt_u64(first + 6);
    d.quota_messages = r.opt_u64(first + 7);
    d.max_message_size = r.opt_u64(first + 8);
    d.fallback = r.str(first + 9);
    d.filter_command = r.str(first + 10);
    d.fullname_matching = r.boolean(first + 11);
    d.backup = r.boolean(first + 12);
    d.transport = r.str(first + 13);
    d.relayhost = r.str(first + 14);
    return d;
}

address_record address_from_row(const db::row& r, size_t first, const std::string& domain_name) {
    address_record a;
    address_from_row(r, first, a);
    if (a.mailbox && a.maildir.empty()) {
        assign_default_maildir(a.maildir, domain_name, a.local_part);
    }
    return a;
}

template <typename Row>
void address_from_row(const Row& r, size_t first, address_record& a) {
    // Assigned field by field: a record refilled for every row keeps its strings' capacity.
    auto text = [&](size_t i) -> std::string_view {
        const auto& v = r.at(first + i);  // a row's value, or a row_view's view of it
        return v ? std::string_view(*v) : std::string_view();
    };
    a.id = r.u64(first);
    a.local_part.assign(text(1));
    ascii_lower_in_place(a.local_part);
    a.enabled = r.boolean(first + 2);
    a.mailbox = r.boolean(first + 3);
    a.maildir.clear();
    if (a.mailbox) {
        a.maildir.assign(text(4));
        if (!a.maildir.empty() && a.maildir.back() != '/') {
            a.maildir += '/';
        }
    }
    a.has_password = r.boolean(first + 5);
    a.full_name.assign(text(6));
    a.logins = login_set_bits(r.u64(first + 7));
    a.quota_bytes = r.opt_u64(first + 8);
    a.quota_messages = r.opt_u64(first + 9);
    a.transport.assign(text(10));
    a.forwards.clear();
    a.vacation.reset();
}

template domain_record domain_from_row(const db::row&, size_t);
template domain_record domain_from_row(const db::row_view&, size_t);
template void address_from_row(const db::row&, size_t, address_record&);
template void address_from_row(const db::row_view&, size_t, address_record&);

}  // namespace vhostmail::vhost
