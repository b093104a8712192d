// SPDX-License-Identifier: Apache-2.0
// sql_directory.hh - a vhost::directory answered by a few prepared queries per address, for
// one-shot and per-message users (vhostmail-deliver, vhostmail-lmtpd) for which loading the whole
// snapshot would cost more than the lookups themselves.
// Each object is a short-lived view: the records whose views it returned are owned by it (in the
// routing image's encoding, image_segment.hh) and cached for its lifetime, so one message's
// resolution reads each row once; create a new object per message (or per transaction) to see
// database changes. Queries go through pool::run (one retry on a broken connection; they are
// read-only). Any database error -> temp_fail. Queries per address: the address row joined with its
// vacation window, then its forwardings. Thread safety: one object per thread; the pool is
// thread-safe.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "lib/db/pool.hh"
#include "lib/vhost/directory.hh"

namespace vhostmail::vhost {

class sql_directory final : public directory {
public:
    explicit sql_directory(db::pool& pool) : pool_(pool) {}

    lookup<domain_view> find_domain(std::string_view name) override;
    lookup<address_view> find_address(const domain_view& domain,
                                      std::string_view local_part) override;
    lookup<address_view> find_full_name(const domain_view& domain,
                                        std::string_view normalized) override;
    lookup<std::vector<std::string>> sender_grants(const domain_view& domain,
                                                   std::string_view local_part) override;

private:
    lookup<address_view> load_address(const domain_view& domain, const db::row& row);
    // Keeps `encoded` for the object's lifetime and returns its stable bytes.
    std::string_view keep(std::string encoded);

    db::pool& pool_;
    std::deque<std::string> records_;  // encoded records; a deque never moves its elements
    std::map<std::string, std::optional<domain_view>, std::less<>> domain_cache_;
    std::map<std::string, std::optional<address_view>, std::less<>> address_cache_;
};

}  // namespace vhostmail::vhost
