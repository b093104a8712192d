// SPDX-License-Identifier: Apache-2.0
// routing_views.hh - what a directory answers: read-only views of one domain and one address,
// decoded from the routing image's bytes (routing_image.hh). They point into memory the
// directory keeps alive (the image, or sql_directory's own copies), so answering from the
// compact copy allocates nothing. The owned forms (schema.hh) are what the image is built from.
// Thread safety: immutable values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

// Strings stored one after another as (LEB128 length, bytes), as the image holds lists.
class packed_strings {
public:
    class iterator {
    public:
        using value_type = std::string_view;
        using difference_type = std::ptrdiff_t;

        iterator() = default;

        iterator(const uint8_t* at, const uint8_t* end, uint32_t left)
            : at_(at), end_(end), left_(left) {
            decode();
        }

        std::string_view operator*() const { return current_; }

        iterator& operator++() {
            --left_;
            decode();
            return *this;
        }

        iterator operator++(int) {
            iterator old = *this;
            ++*this;
            return old;
        }

        bool operator==(const iterator& o) const { return left_ == o.left_; }

    private:
        void decode();

        const uint8_t* at_ = nullptr;
        const uint8_t* end_ = nullptr;
        uint32_t left_ = 0;
        std::string_view current_;
    };

    packed_strings() = default;

    // `count` strings starting at `data`, none past `end` (checked when the image was read).
    packed_strings(const uint8_t* data, const uint8_t* end, uint32_t count)
        : data_(data), end_(end), count_(count) {}

    uint32_t size() const { return count_; }

    bool empty() const { return count_ == 0; }

    iterator begin() const { return {data_, end_, count_}; }

    iterator end() const { return {}; }

private:
    const uint8_t* data_ = nullptr;
    const uint8_t* end_ = nullptr;
    uint32_t count_ = 0;
};

struct domain_view {
    uint64_t id = 0;
    std::string_view name;  // canonical, lower case
    bool enabled = true;
    bool accepts_mail = true;
    std::string_view reject_text;
    unsigned logins = 0;
    std::optional<uint64_t> quota_bytes;
    std::optional<uint64_t> quota_messages;
    std::optional<uint64_t> max_message_size;
    std::string_view fallback;
    std::string_view filter_command;
    bool fullname_matching = false;
    bool backup = false;  // schema.hh domain_record
    std::string_view transport;
    std::string_view relayhost;
};

struct address_view {
    uint64_t id = 0;
    std::string_view domain_name;  // the canonical name of its domain
    std::string_view local_part;   // lower case
    bool enabled = true;
    bool mailbox = false;
    std::string_view stored_maildir;  // "" when the default applies (see maildir())
    bool has_password = false;
    std::string_view full_name;
    unsigned logins = 0;
    std::optional<uint64_t> quota_bytes;  // nullopt: the domain's default
    std::optional<uint64_t> quota_messages;
    packed_strings forwards;
    std::optional<vacation_window> vacation;
    std::string_view transport;  // schema.hh address_record

    // The Maildir relative to the mail base, ending in '/': the stored one, else
    // default_maildir(); "" when the address has no mailbox.
    std::string maildir() const;
};

}  // namespace vhostmail::vhost
