// SPDX-License-Identifier: Apache-2.0
#include "lib/vhost/snapshot.hh"

#include <algorithm>

namespace vhostmail::vhost {

void domain_data::index_full_names() {
    full_names.clear();
    for (const auto& [local, record] : addresses) {
        if (record.full_name.empty()) {
            continue;
        }
        auto key = normalize_full_name(record.full_name);
        if (key.empty()) {
            continue;
        }
        auto [it, inserted] = full_names.emplace(key, local);
        if (!inserted) {
            it->second.clear();  // two addresses share the name: ambiguous
        }
    }
}

void snapshot::index_aliases() {
    domain_aliases.clear();
    for (const auto& [name, data] : domains) {
        for (const auto& alias : data->aliases) {
            domain_aliases.emplace(alias, name);
        }
    }
}

const domain_data* snapshot_directory::data_for(const domain_record& domain) const {
    auto it = snap_->domains.find(domain.name);
    return it == snap_->domains.end() ? nullptr : it->second.get();
}

lookup<const domain_record*> snapshot_directory::find_domain(std::string_view name) {
    std::string key(name);
    auto it = snap_->domains.find(key);
    if (it == snap_->domains.end()) {
        auto alias = snap_->domain_aliases.find(key);
        if (alias == snap_->domain_aliases.end()) {
            return lookup<const domain_record*>::not_found();
        }
        it = snap_->domains.find(alias->second);
        if (it == snap_->domains.end()) {
            return lookup<const domain_record*>::not_found();
        }
    }
    return lookup<const domain_record*>::found(&it->second->domain);
}

lookup<const address_record*> snapshot_directory::find_address(const domain_record& domain,
                                                               std::string_view local_part) {
    const domain_data* data = data_for(domain);
    if (data == nullptr) {
        return lookup<const address_record*>::not_found();
    }
    auto it = data->addresses.find(std::string(local_part));
    if (it == data->addresses.end()) {
        return lookup<const address_record*>::not_found();
    }
    return lookup<const address_record*>::found(&it->second);
}

lookup<const address_record*> snapshot_directory::find_full_name(const domain_record& domain,
                                                                 std::string_view normalized) {
    const domain_data* data = data_for(domain);
    if (data == nullptr || normalized.empty()) {
        return lookup<const address_record*>::not_found();
    }
    auto it = data->full_names.find(std::string(normalized));
    if (it == data->full_names.end() || it->second.empty()) {
        return lookup<const address_record*>::not_found();
    }
    return find_address(domain, it->second);
}

lookup<std::vector<std::string>> snapshot_directory::sender_grants(const domain_record& domain,
                                                                   std::string_view local_part) {
    std::vector<std::string> logins;
    const domain_data* data = data_for(domain);
    if (data == nullptr) {
        return lookup<std::vector<std::string>>::found(std::move(logins));
    }
    for (const std::string& key : {std::string(local_part), std::string()}) {
        auto it = data->grants.find(key);
        if (it != data->grants.end()) {
            logins.insert(logins.end(), it->second.begin(), it->second.end());
        }
    }
    logins.insert(logins.end(), data->admins.begin(), data->admins.end());
    return lookup<std::vector<std::string>>::found(std::move(logins));
}

}  // namespace vhostmail::vhost
