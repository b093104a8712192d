// SPDX-License-Identifier: Apache-2.0
// policy_store.hh - policyd's shared state in MariaDB (sql/migrations/0004_policy.sql says what
// is kept where), with the in-memory parts that keep the per-request database cost small:
//  * rate counters: increments are batched in memory and flushed every flush_interval by a
//    background thread (docs/cluster.md rule 4) into this instance's own rows (rule 1); totals over
//    all instances are read at most once per refresh_interval per counter. A limit can thus be
//    overshot by what other hosts accepted within the last refresh_interval plus what this host
//    accepted within the last flush_interval before a crash.
//  * greylisting: triplets that passed are remembered for pass_cache_time, so known mail costs
//    no query; any other triplet costs one primary-key SELECT. What greylisting writes (a first
//    sighting with INSERT IGNORE, rule 2; a pass; a restart) is queued and written by the same
//    background flush, so no request waits for a commit. A first sighting is thus recorded up
//    to flush_interval late (a retry is accepted that much later), and a crash may forget the
//    last flush_interval of sightings (those senders are greylisted once more).
//  * auto-whitelisted client networks are remembered for pass_cache_time, networks that are not
//    (yet) for a minute.
//  Each flush is one transaction (one commit, one log flush, for all that is queued) that also
//  records its flush id in this shard's counter_flushes row: after a failure that may have
//  been a lost COMMIT reply, the next flush reads that row (FOR UPDATE, in the transaction
//  that writes) and writes the batch again only if it was not stored, so a retried flush never
//  counts twice. A batch being flushed, or waiting
//  for that answer, is still counted by this instance's readers; other instances see a charge
//  at most flush_interval (plus the commit) + their refresh_interval after it was made.
//  * mailbox usage: the newest mailbox_usage row, remembered for usage_cache_time.
//  * send limits: read whole once, then only the rows of the domains the routing triggers mark
//    changed (the same triggers version them; vhost::follow_changes).
// Single autocommit statements that hit a deadlock/certification conflict (1213) are retried
// about 3 times with a short random delay (rule 3), then they are a temporary failure.
// Thread safety: all members may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "lib/core/lookup.hh"
#include "lib/db/pool.hh"
#include "lib/policy/budgets.hh"
#include "lib/policy/greylist.hh"
#include "lib/store/quota.hh"
#include "lib/vhost/snapshot_loader.hh"

namespace vhostmail::policyd {

struct store_settings {
    std::chrono::milliseconds flush_interval{250};
    std::chrono::milliseconds refresh_interval{1000};
    std::chrono::milliseconds pass_cache_time{std::chrono::hours(1)};
    std::chrono::milliseconds usage_cache_time{1000};
    int64_t greylist_max_age_s = 35 * 86400;  // passed triplets unused this long are deleted
    int64_t greylist_stale_s = 2 * 86400;     // unpassed triplets older than this are deleted
    int64_t auto_whitelist_age_s = 35 * 86400;
};

struct store_counters {
    uint64_t statements = 0;  // database statements run (all kinds)
    // Flushes: attempts confirmed stored; attempts that failed temporarily (then in doubt);
    // attempts in doubt that a later flush found stored (so not written again).
    uint64_t flushes_stored = 0;
    uint64_t flushes_failed = 0;
    uint64_t flushes_found_stored = 0;
    // Updates (a counter row or a greylisting write): stored by a confirmed flush, dropped
    // (refused by the schema, or held in memory past the bound during a long outage).
    uint64_t updates_stored = 0;
    uint64_t updates_dropped = 0;
};

// What waits to be stored now.
struct store_backlog {
    uint64_t updates = 0;   // counter rows and greylisting writes not known stored
    uint64_t in_doubt = 0;  // flush attempts whose outcome is not known yet
};

class policy_store {
public:
    policy_store(db::pool& pool, std::string shard, store_settings settings);
    ~policy_store();  // flushes what is pending (best effort) and stops the thread
    policy_store(const policy_store&) = delete;
    policy_store& operator=(const policy_store&) = delete;

    void set_settings(store_settings settings);

    // Usage of `key` in the window containing `now` and the one before (all hosts).
    lookup<policy::window_counts> counts(const std::string& key, int64_t now, int64_t window_s);
    // Adds n to `key`'s current window (in memory now, in the database at the next flush).
    void charge(const std::string& key, int64_t now, int64_t window_s, uint64_t n);

    // Greylisting, by triplet; times are the database's.
    bool known_passed(const std::string& triplet_key);
    void remember_pass(const std::string& triplet_key);
    // What the database knows about the triplet (new_triplet: nothing yet). Reads only.
    lookup<policy::triplet_state> see_triplet(const std::string& net, const std::string& sender,
                                              const std::string& recipient);
    // Queued for the next flush: a first sighting, a pass (which also counts one more
    // successful retry of the client network, once per triplet), a restart of the delay.
    enum class greylist_write { first_seen, pass, restart, touch };
    void queue_greylist(greylist_write what, const std::string& net, const std::string& sender,
                        const std::string& recipient);
    // Whether `net` passed greylisting at least `needed` times within the auto-whitelist age
    // (all hosts).
    lookup<bool> client_whitelisted(const std::string& net, uint64_t needed);

    lookup<store::quota_usage> usage(uint64_t address_id);

    // Follows send_limits (called by the snapshot refresher after every poll): the first
    // time whole, then only the rows of the domains changed since (vhost::follow_changes).
    db::outcome<void> load_limits(db::connection& conn);

    std::shared_ptr<const policy::send_limit_table> limits() const;

    store_counters counters() const;
    store_backlog backlog() const;

    // Writes pending increments now (the flusher does it every flush_interval).
    void flush();

private:
    db::outcome<void> apply_limit_changes(db::connection& conn,
                                          const vhost::domain_changes& changes);

    struct greylist_op {
        greylist_write what;
        std::string net, sender, recipient;
    };

    struct counter_view {
        int64_t start = 0;         // current window's start when read
        policy::window_counts db;  // as read (plus what this instance flushed since)
        std::chrono::steady_clock::time_point read_at{};
    };

    struct pending_key {
        std::string key;
        int64_t start;
        int64_t window_s;

        bool operator<(const pending_key& o) const {
            return std::tie(key, start, window_s) < std::tie(o.key, o.start, o.window_s);
        }
    };

    template <typename F>
    auto run(F&& fn);
    void flusher_loop();
    db::outcome<void> apply(db::connection& conn, const greylist_op& op);
    // Takes a batch out of unconfirmed_ and, when `stored`, adds it to the totals this
    // instance read (with mutex_ held).
    void count_flushed(const std::map<pending_key, uint64_t>& batch, bool stored);
    void expire_old_rows();
    static std::string view_key(const std::string& key, int64_t window_s);

    db::pool& pool_;
    const std::string shard_;
    mutable std::mutex mutex_;
    store_settings settings_;
    std::unordered_map<std::string, counter_view> views_;
    std::map<pending_key, uint64_t> pending_;  // charged since the last flush began

    // Flush attempts that failed temporarily, oldest first, each with all that it wrote (what
    // the attempts before it were not known to have stored, and what was new): whether they
    // were stored, the next flush finds out. unconfirmed_ sums what is being flushed or in
    // doubt, for the readers.
    struct in_doubt {
        uint64_t id;
        std::map<pending_key, uint64_t> batch;
        std::vector<greylist_op> ops;
    };

    std::vector<in_doubt> doubts_;
    // Takes out of a later attempt's content what `stored` (an earlier one) wrote.
    static void forget_stored(std::map<pending_key, uint64_t>& batch, std::vector<greylist_op>& ops,
                              const in_doubt& stored);
    std::map<pending_key, uint64_t> unconfirmed_;
    std::mutex flush_mutex_;  // one flush at a time (the flusher thread, stop, the destructor)
    uint64_t last_flush_id_;  // flush_mutex_
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> passed_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> not_whitelisted_;
    std::vector<greylist_op> greylist_ops_;
    std::unordered_map<uint64_t,
                       std::pair<store::quota_usage, std::chrono::steady_clock::time_point>>
        usage_;
    std::shared_ptr<const policy::send_limit_table> limits_ =
        std::make_shared<policy::send_limit_table>();
    // The refresher thread's: what the table holds of each domain, and the serials it follows.
    vhost::domain_entry_map limit_keys_;  // each domain's entries in limits_
    vhost::change_finder limit_changes_;
    std::atomic<uint64_t> statements_{0};
    std::atomic<uint64_t> flushes_stored_{0}, flushes_failed_{0}, flushes_found_stored_{0};
    std::atomic<uint64_t> updates_stored_{0}, updates_dropped_{0};
    std::chrono::steady_clock::time_point last_expiry_{};
    bool flush_failing_ = false;

    std::mutex stop_mutex_;
    std::condition_variable stop_cv_;
    bool stopping_ = false;
    std::thread flusher_;
};

}  // namespace vhostmail::policyd
