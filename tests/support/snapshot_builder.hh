// SPDX-License-Identifier: Apache-2.0
// snapshot_builder.hh - builds in-memory routing snapshots for unit tests (no database).
#pragma once

#include <map>
#include <memory>
#include <string>

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
        auto& a = data_.at(domain).addresses[local];
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
        data_.at(domain).grants[local].push_back(login);
    }

    void admin(const std::string& domain, const std::string& login) {
        data_.at(domain).admins.push_back(login);
    }

    std::shared_ptr<const vhost::snapshot> build() {
        auto snap = std::make_shared<vhost::snapshot>();
        for (auto& [name, d] : data_) {
            auto copy = std::make_shared<vhost::domain_data>(d);
            copy->index_full_names();
            snap->domains[name] = copy;
        }
        snap->index_aliases();
        return snap;
    }

private:
    std::map<std::string, vhost::domain_data> data_;
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
