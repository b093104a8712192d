// SPDX-License-Identifier: Apache-2.0
// snapshot.hh - one version of the routing data: a root of the routing image (routing_image.hh)
// and the image it lives in, which it keeps mapped. Served without locks: a version is never
// changed after it was published; the refresher swaps whole snapshots.
// Thread safety: a snapshot is immutable and may be read by any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/vhost/directory.hh"
#include "lib/vhost/image_segment.hh"

namespace vhostmail::vhost {

class image_file;

class snapshot {
public:
    // The version whose root block is at `root`; `limit`: the image's length when it was
    // published (nothing beyond it is read).
    snapshot(std::shared_ptr<const image_file> file, uint64_t root, uint64_t limit);

    uint64_t serial() const;        // SUM(routing_serial.serial) it was read at
    uint64_t domain_count() const;  // hosted domains
    uint64_t live_bytes() const;    // bytes of this version's segments and index

    enum class found { yes, no, corrupt };
    // The segment of the hosted domain named `name` (lower case) or whose enabled alias it is.
    found find_domain(std::string_view name, domain_segment& out) const;
    // Calls `fn` for every domain; false when the image is damaged.
    bool for_each_domain(const std::function<void(const domain_segment&)>& fn) const;

private:
    std::optional<domain_segment> segment_at(uint64_t offset) const;
    const uint8_t* at(uint64_t offset, uint64_t length) const;  // null: outside the version

    std::shared_ptr<const image_file> file_;
    uint64_t root_;
    uint64_t limit_;
};

// A directory over one snapshot, which it keeps alive while it exists. A damaged image answers
// temp_fail. Views it returns point into the snapshot's image.
class snapshot_directory final : public directory {
public:
    explicit snapshot_directory(std::shared_ptr<const snapshot> snap) : snap_(std::move(snap)) {}

    lookup<domain_view> find_domain(std::string_view name) override;
    lookup<address_view> find_address(const domain_view& domain,
                                      std::string_view local_part) override;
    lookup<address_view> find_full_name(const domain_view& domain,
                                        std::string_view normalized) override;
    lookup<std::vector<std::string>> sender_grants(const domain_view& domain,
                                                   std::string_view local_part) override;

private:
    // The segment of a domain this directory returned (by its canonical name).
    snapshot::found segment_of(const domain_view& domain, domain_segment& out);
    // An address of `domain` by one of its segment's indexes.
    lookup<address_view> find_in_segment(
        const domain_view& domain, std::string_view key,
        domain_segment::found (domain_segment::*find)(std::string_view, address_view&) const);

    std::shared_ptr<const snapshot> snap_;
    // The segment found last: a resolution asks for addresses of the domain it just found.
    domain_segment last_;
};

}  // namespace vhostmail::vhost
