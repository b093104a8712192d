// SPDX-License-Identifier: Apache-2.0
// delivery_store.hh - the shared state delivery keeps in the database (sql/migrations/
// 0003_delivery.sql): vacation texts, the "already replied" records, the mailbox usage record.
// An interface so the delivery core can be tested without a database; sql_delivery_store is the
// real one. Every method may fail with a temporary error (ok = false, why).
// Thread safety: sql_delivery_store is safe for concurrent use (the pool is).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lib/db/pool.hh"
#include "lib/vhost/mailbox_usage.hh"

namespace vhostmail::deliver {

struct store_result {
    bool ok = true;
    std::string why;
};

// An auto-reply waiting in the outbox (0006_autoreply_outbox.sql).
struct queued_reply {
    uint64_t id = 0;
    uint64_t address_id = 0;
    std::string recipient;
    std::string message;
    uint32_t attempts = 0;   // before this one
    int64_t created_at = 0;  // UNIX time
};

struct vacation_text {
    bool found = false;
    std::string subject;
    std::string body;
    uint64_t interval_seconds = 604800;
};

class delivery_store {
public:
    virtual ~delivery_store() = default;
    virtual store_result vacation(uint64_t address_id, vacation_text& out) = 0;
    // Claims the right to reply to `sender` (lower case) for this address: claimed = true when
    // no reply was recorded within the interval (the record is then written, now).
    virtual store_result claim_reply(uint64_t address_id, const std::string& sender,
                                     uint64_t interval_seconds, bool& claimed) = 0;
    // Undoes a claim whose reply could not be submitted.
    virtual store_result release_reply(uint64_t address_id, const std::string& sender) = 0;
    // Keeps a composed reply that sendmail did not take, to be sent later by lmtpd's outbox
    // sender (the claim stays, so no second reply is made meanwhile).
    virtual store_result queue_reply(uint64_t address_id, const std::string& recipient,
                                     const std::string& message, const std::string& why) = 0;
    // Records the mailbox's usage (absolute values) as seen by this node.
    virtual store_result record_usage(uint64_t address_id, int64_t bytes, int64_t messages) = 0;
};

class sql_delivery_store final : public delivery_store {
public:
    // `node`: a stable id of this host (its hostname), the key of its usage rows.
    // usage_interval > 0 (lmtpd): usage records are kept in memory, the newest per mailbox, and
    // written every usage_interval in one transaction by a thread of their own, so a delivery
    // never waits for a commit (a log flush on the server) of its own. The values are absolute,
    // so coalescing loses only intermediate states; a crash loses at most the last interval,
    // which the next delivery to the mailbox corrects (maildirsize stays the authority).
    // 0 (vhostmail-deliver, one message per process): written at once.
    sql_delivery_store(db::pool& pool, std::string node,
                       std::chrono::milliseconds usage_interval = {});
    ~sql_delivery_store() override;  // writes what is pending
    sql_delivery_store(const sql_delivery_store&) = delete;
    sql_delivery_store& operator=(const sql_delivery_store&) = delete;

    store_result vacation(uint64_t address_id, vacation_text& out) override;
    store_result claim_reply(uint64_t address_id, const std::string& sender,
                             uint64_t interval_seconds, bool& claimed) override;
    store_result release_reply(uint64_t address_id, const std::string& sender) override;
    store_result queue_reply(uint64_t address_id, const std::string& recipient,
                             const std::string& message, const std::string& why) override;
    store_result record_usage(uint64_t address_id, int64_t bytes, int64_t messages) override;

    // The outbox sender's side. claim_due_replies takes up to `max` rows due now for this host
    // (moving their next attempt `lease` ahead, conditionally, so no other host takes them).
    std::vector<queued_reply> claim_due_replies(size_t max, std::chrono::seconds lease);
    store_result reply_done(uint64_t id);  // sent, or given up
    store_result reply_failed(uint64_t id, const std::string& why, std::chrono::seconds retry_in);

    // Writes the pending usage records now (the thread does it every usage_interval).
    void flush_usage();

private:
    db::pool& pool_;
    std::string node_;
    std::chrono::milliseconds usage_interval_;
    std::mutex mutex_;
    std::map<uint64_t, vhost::usage_measurement> pending_usage_;  // by address
    bool usage_failing_ = false;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::thread writer_;
};

}  // namespace vhostmail::deliver
