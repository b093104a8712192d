// SPDX-License-Identifier: Apache-2.0
// sql_directory.hh - a vhost::directory answered by a few prepared queries per address, for
// one-shot and per-message users (vhostmail-deliver, vhostmail-lmtpd) for which loading the whole
// snapshot would cost more than the lookups themselves.
// Each object is a short-lived view: records it returned are owned by it (stable pointers) and
// cached for its lifetime, so one message's resolution reads each row once; create a new object
// per message (or per transaction) to see database changes. Queries go through pool::run (one
// retry on a broken connection; they are read-only). Any database error -> temp_fail.
// Queries per address: the address row joined with its vacation window, then its forwardings.
// Thread safety: one object per thread; the pool is thread-safe.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <string>

#include "lib/db/pool.hh"
#include "lib/vhost/directory.hh"

namespace vhostmail::vhost {

class sql_directory final : public directory {
public:
    explicit sql_directory(db::pool& pool) : pool_(pool) {}

    lookup<const domain_record*> find_domain(std::string_view name) override;
    lookup<const address_record*> find_address(const domain_record& domain,
                                               std::string_view local_part) override;
    lookup<const address_record*> find_full_name(const domain_record& domain,
                                                 std::string_view normalized) override;
    lookup<std::vector<std::string>> sender_grants(const domain_record& domain,
                                                   std::string_view local_part) override;

private:
    lookup<const address_record*> load_address(const domain_record& domain,
                                               const db::row& row);

    db::pool& pool_;
    std::deque<domain_record> domains_;
    std::deque<address_record> addresses_;
    std::map<std::string, const domain_record*, std::less<>> domain_cache_;  // null: not found
    std::map<std::string, const address_record*, std::less<>> address_cache_;
};

}  // namespace vhostmail::vhost
