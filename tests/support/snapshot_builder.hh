// SPDX-License-Identifier: Apache-2.0
// snapshot_builder.hh - builds in-memory routing snapshots for unit tests (no database).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "lib/vhost/routing_image.hh"
#include "lib/vhost/snapshot.hh"

namespace vhostmail::test {

class snapshot_builder {
public:
    vhost::domain_record& domain(const std::string& name, const std::string& fallback = "") {
        auto& d = data_[name];
        d.domain.id = ++next_id_;
        d.domain.name = name;
        d.domain.fallback = fallback;
        return d.domain;
    }

    vhost::address_record& address(const std::string& domain, const std::string& local) {
        auto& a = data_.at(domain).records[local];
        a.id = ++next_id_;
        a.local_part = local;
        return a;
    }

    vhost::address_record& mailbox(const std::string& domain, const std::string& local,
                                   bool password = true) {
        auto& a = address(domain, local);
        a.mailbox = true;
        a.maildir = vhost::default_maildir(domain, local);
        a.has_password = password;
        return a;
    }

    void domain_alias(const std::string& alias, const std::string& domain) {
        data_.at(domain).aliases.push_back(alias);
    }

    void grant(const std::string& domain, const std::string& local, const std::string& login) {
        data_.at(domain).grant_map[local].push_back(login);
    }

    void admin(const std::string& domain, const std::string& login) {
        data_.at(domain).admins.push_back(login);
    }

    // A routing image of the domains, as the loader would write it.
    std::shared_ptr<const vhost::snapshot> build() {
        vhost::image_writer writer(size_t{64} << 20);
        for (auto& [name, d] : data_) {
            vhost::domain_data copy = d;
            for (auto& [local, a] : d.records) {
                copy.addresses.push_back(a);
            }
            for (auto& [local, logins] : d.grant_map) {
                copy.grants.emplace_back(local, logins);
            }
            writer.put(copy);
        }
        return writer.commit(1);
    }

private:
    struct domain_input : vhost::domain_data {
        std::map<std::string, vhost::address_record> records;
        std::map<std::string, std::vector<std::string>> grant_map;
    };

    std::map<std::string, domain_input> data_;
    uint64_t next_id_ = 0;
};

// The example data of docs/specification.md "Behaviour that users see" (as
// sql/fixtures/spec-example.sql).
inline snapshot_builder spec_example() {
    snapshot_builder b;
    b.domain("blobber.org");
    b.domain("mail.blobber.org", "@blobber.org");
    b.domain("whopper.nu", "xandros@blobber.org");
    b.domain("lala.com", "@whopper.nu");
    b.mailbox("blobber.org", "xandros").full_name = "Xandros Blob";
    b.mailbox("blobber.org", "vivita").full_name = "Vivita Blob";
    b.address("blobber.org", "karl").forwards = {"karl.vovianda@gmail.com"};
    b.address("blobber.org", "postmaster").forwards = {"postmaster@localhost"};
    return b;
}

}  // namespace vhostmail::test
