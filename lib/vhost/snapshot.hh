// SPDX-License-Identifier: Apache-2.0
// snapshot.hh - an immutable in-memory copy of the routing data, served without locks.
// A snapshot is built once (whole, or by replacing changed domains of the previous one, which
// shares the unchanged domain_data) and then only read; the holder swaps whole snapshots.
// Thread safety: a snapshot and its domain_data are immutable and may be read by any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/vhost/directory.hh"
#include "lib/vhost/schema.hh"

namespace vhostmail::vhost {

// Everything about one domain that routing needs.
struct domain_data {
    domain_record domain;
    uint64_t version = 0;                       // routing_versions.version when it was read
    std::vector<std::string> aliases;           // enabled domain alias names
    std::unordered_map<std::string, address_record> addresses;  // by local part
    std::unordered_map<std::string, std::string> full_names;    // normalized -> local ("" = ambiguous)
    std::unordered_map<std::string, std::vector<std::string>> grants;  // local ("" domain) -> logins
    std::vector<std::string> admins;            // logins of the domain's administrators

    // Fills full_names from addresses; call once after the addresses are in place.
    void index_full_names();
};

struct snapshot {
    std::unordered_map<std::string, std::shared_ptr<const domain_data>> domains;  // canonical name
    std::unordered_map<std::string, std::string> domain_aliases;  // alias name -> canonical name
    uint64_t serial = 0;                                          // SUM(routing_serial.serial)

    // Rebuilds domain_aliases from the domains' alias lists.
    void index_aliases();
};

// A directory over one snapshot, which it keeps alive while it exists.
class snapshot_directory final : public directory {
public:
    explicit snapshot_directory(std::shared_ptr<const snapshot> snap) : snap_(std::move(snap)) {}

    lookup<const domain_record*> find_domain(std::string_view name) override;
    lookup<const address_record*> find_address(const domain_record& domain,
                                               std::string_view local_part) override;
    lookup<const address_record*> find_full_name(const domain_record& domain,
                                                 std::string_view normalized) override;
    lookup<std::vector<std::string>> sender_grants(const domain_record& domain,
                                                   std::string_view local_part) override;

private:
    const domain_data* data_for(const domain_record& domain) const;

    std::shared_ptr<const snapshot> snap_;
};

}  // namespace vhostmail::vhost
