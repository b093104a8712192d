// SPDX-License-Identifier: Apache-2.0
// image_segment.hh - the compact, position-independent encoding of one domain's routing data:
// a "segment" of the routing image (routing_image.hh). Built once from the owned records when
// the domain is (re)loaded, then only read, by any process that maps it. docs/architecture.md
// "The routing image" describes the layout.
//
// Reading never trusts the bytes: every offset and length is checked against the segment, so a
// damaged image answers "corrupt" (the directory turns that into a temporary failure), never a
// read outside it. Pure code: no I/O.
// Thread safety: encode_* are reentrant; a domain_segment is an immutable view.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lib/vhost/routing_views.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

// Everything about one domain that routing needs, in owned form: what a segment is built from.
struct domain_data {
    domain_record domain;
    uint64_t version = 0;              // routing_versions.version when it was read
    std::vector<std::string> aliases;  // enabled domain alias names
    std::vector<address_record> addresses;
    // Logins granted the right to send as a local part ("": the whole domain), in order.
    std::vector<std::pair<std::string, std::vector<std::string>>> grants;
    std::vector<std::string> admins;  // logins of the domain's administrators
};

// The hash of names and local parts in every index of the image (FNV-1a, 32 bits): part of the
// format, so never std::hash, which may differ between builds.
uint32_t image_hash(std::string_view key);

// The segment of `d`; "" when it cannot be one (over 4 GiB, or `encoded` not well formed).
// `encoded` are address records of the domain already encoded (encode_address_record; each
// view one or more whole records), placed before those of d.addresses: a full load encodes
// each row as it arrives instead of holding its record. Duplicate local parts keep the first.
std::string encode_domain(const domain_data& d, std::span<const std::string_view> encoded = {});

// One record in the segment's encoding, for holders of single records (sql_directory).
void encode_domain_record(const domain_record& d, std::string& out);
void encode_address_record(const address_record& a, std::string_view domain_name, std::string& out);
// The same with `forwards` in place of a.forwards (a full load keeps them in one buffer).
// `domain_name` is read only when a.maildir is set (to leave a default Maildir unstored).
void encode_address_record(const address_record& a, std::string_view domain_name,
                           std::span<const std::string_view> forwards, std::string& out);
std::optional<domain_view> decode_domain_record(std::string_view bytes);
std::optional<address_view> decode_address_record(std::string_view bytes,
                                                  std::string_view domain_name);

// A read-only view of one segment. Every accessor answers nullopt / false when the bytes are
// damaged; a valid segment answers from its indexes without allocating.
class domain_segment {
public:
    domain_segment() = default;  // empty: no domain
    // Checks the header and the domain record; nullopt when `bytes` is no valid segment.
    static std::optional<domain_segment> open(std::string_view bytes);

    const domain_view& domain() const { return domain_; }

    uint64_t version() const;

    std::string_view bytes() const { return bytes_; }

    uint32_t address_count() const;

    // The enabled domain alias names (damaged: empty).
    std::optional<packed_strings> aliases() const;

    enum class found { yes, no, corrupt };
    found find_address(std::string_view local_part, address_view& out) const;
    // The one address whose normalized full name is `normalized`; no when none or ambiguous.
    found find_full_name(std::string_view normalized, address_view& out) const;
    // Appends the logins granted `local_part`, then the whole domain, then the admins.
    bool sender_grants(std::string_view local_part, std::vector<std::string>& out) const;
    std::optional<packed_strings> admins() const;

    // Calls `fn` for every address, in stored order; false when the segment is damaged.
    bool for_each_address(const std::function<void(const address_view&)>& fn) const;

private:
    explicit domain_segment(std::string_view bytes) : bytes_(bytes) {}

    std::string_view bytes_;
    domain_view domain_;
};

}  // namespace vhostmail::vhost
