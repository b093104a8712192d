// SPDX-License-Identifier: Apache-2.0
#include "daemons/policyd/policy_store.hh"

#include <ctime>
#include <random>
#include <tuple>

#include "lib/core/strings.hh"
#include "lib/log/log.hh"
#include "lib/vhost/mailbox_usage.hh"

namespace vhostmail::policyd {

namespace {

using steady = std::chrono::steady_clock;

constexpr std::string_view read_counts_sql =
    "SELECT window_start, SUM(n) FROM rate_counters WHERE counter_key = ?"
    " AND window_start IN (?, ?) GROUP BY window_start";

constexpr std::string_view add_count_sql =
    "INSERT INTO rate_counters (counter_key, window_start, shard, n, expires_at)"
    " VALUES (?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE n = n + VALUES(n)";

constexpr std::string_view see_triplet_sql =
    "INSERT IGNORE INTO greylist (client_net, sender, recipient, first_seen, passed_at, last_seen)"
    " VALUES (?, ?, ?, UNIX_TIMESTAMP(), NULL, UNIX_TIMESTAMP())";

constexpr std::string_view read_triplet_sql =
    "SELECT CAST(UNIX_TIMESTAMP() AS SIGNED) - CAST(first_seen AS SIGNED), passed_at IS NOT NULL"
    " FROM greylist WHERE client_net = ? AND sender = ? AND recipient = ?";

constexpr std::string_view pass_triplet_sql =
    "UPDATE greylist SET passed_at = UNIX_TIMESTAMP(), last_seen = UNIX_TIMESTAMP()"
    " WHERE client_net = ? AND sender = ? AND recipient = ? AND passed_at IS NULL";

constexpr std::string_view touch_triplet_sql =
    "UPDATE greylist SET last_seen = UNIX_TIMESTAMP()"
    " WHERE client_net = ? AND sender = ? AND recipient = ?";

constexpr std::string_view restart_triplet_sql =
    "UPDATE greylist SET first_seen = UNIX_TIMESTAMP(), last_seen = UNIX_TIMESTAMP()"
    " WHERE client_net = ? AND sender = ? AND recipient = ? AND passed_at IS NULL";

constexpr std::string_view count_pass_sql =
    "INSERT INTO greylist_clients (client_net, shard, passes, last_pass)"
    " VALUES (?, ?, 1, UNIX_TIMESTAMP())"
    " ON DUPLICATE KEY UPDATE passes = passes + 1, last_pass = UNIX_TIMESTAMP()";

constexpr std::string_view client_passes_sql =
    "SELECT COALESCE(SUM(passes), 0) FROM greylist_clients"
    " WHERE client_net = ? AND last_pass >= UNIX_TIMESTAMP() - ?";

#define VHM_LIMITS                                                                        \
    "SELECT s.domain_id, d.name, a.local_part, s.applies_to, s.budget, s.window_seconds," \
    " s.max_value FROM send_limits s JOIN domains d ON d.id = s.domain_id"                \
    " LEFT JOIN addresses a ON a.id = s.address_id"
constexpr std::string_view limits_sql = VHM_LIMITS;
constexpr std::string_view domain_limits_sql = VHM_LIMITS " WHERE s.domain_id = ?";
#undef VHM_LIMITS
// Beyond this many changed domains one read of the table costs less than a query each.
constexpr size_t max_domain_reads = 256;

constexpr std::string_view expire_counters_sql =
    "DELETE FROM rate_counters WHERE expires_at < ? LIMIT 1000";
constexpr std::string_view expire_greylist_sql =
    "DELETE FROM greylist WHERE last_seen < UNIX_TIMESTAMP() - ? LIMIT 1000";
constexpr std::string_view expire_unpassed_sql =
    "DELETE FROM greylist WHERE passed_at IS NULL AND first_seen < UNIX_TIMESTAMP() - ? LIMIT 1000";
constexpr std::string_view expire_clients_sql =
    "DELETE FROM greylist_clients WHERE last_pass < UNIX_TIMESTAMP() - ? LIMIT 1000";

constexpr size_t max_cache_entries = 1'000'000;      // per cache; cleared whole when exceeded
constexpr size_t max_queued_greylist_ops = 100'000;  // while the database is away
constexpr size_t max_pending_counters = 1'000'000;

constexpr std::string_view mark_flush_sql =
    "INSERT INTO counter_flushes (shard, flush_id, flushed_at) VALUES (?, ?, UNIX_TIMESTAMP())"
    " ON DUPLICATE KEY UPDATE flush_id = VALUES(flush_id), flushed_at = VALUES(flushed_at)";
constexpr std::string_view last_flush_locked_sql =
    "SELECT flush_id FROM counter_flushes WHERE shard = ? FOR UPDATE";

// A random start, so that the ids of a restarted instance do not repeat its earlier ones.
uint64_t random_flush_base() {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32 | rd()) & ~(uint64_t{1} << 63);
}

std::vector<db::param> triplet_params(const std::string& net, const std::string& sender,
                                      const std::string& recipient) {
    return {net, sender, recipient};
}

template <typename Map>
void bound_cache(Map& m) {
    if (m.size() >= max_cache_entries) {
        m.clear();
    }
}

}  // namespace

policy_store::policy_store(db::pool& pool, std::string shard, store_settings settings)
    : pool_(pool),
      shard_(std::move(shard)),
      settings_(settings),
      last_flush_id_(random_flush_base()) {
    flusher_ = std::thread([this] { flusher_loop(); });
}

policy_store::~policy_store() {
    {
        std::lock_guard lock(stop_mutex_);
        stopping_ = true;
        stop_cv_.notify_all();
    }
    if (flusher_.joinable()) {
        flusher_.join();
    }
    flush();
}

store_counters policy_store::counters() const {
    auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    return {get(statements_),           get(flushes_stored_), get(flushes_failed_),
            get(flushes_found_stored_), get(updates_stored_), get(updates_dropped_)};
}

store_backlog policy_store::backlog() const {
    std::lock_guard lock(mutex_);
    // A doubt holds everything not known stored before it, so the newest one counts for all.
    uint64_t updates = pending_.size() + greylist_ops_.size();
    if (!doubts_.empty()) {
        updates += doubts_.back().batch.size() + doubts_.back().ops.size();
    }
    return {updates, doubts_.size()};
}

void policy_store::set_settings(store_settings settings) {
    std::lock_guard lock(mutex_);
    settings_ = settings;
}

// One statement on a pooled connection, counted; deadlocks retried (docs/cluster.md rule 3).
template <typename F>
auto policy_store::run(F&& fn) {
    return pool_.run_retrying_deadlocks([&](db::connection& conn) {
        statements_.fetch_add(1, std::memory_order_relaxed);
        return fn(conn);
    });
}

std::string policy_store::view_key(const std::string& key, int64_t window_s) {
    return key + "/" + std::to_string(window_s);
}

lookup<policy::window_counts> policy_store::counts(const std::string& key, int64_t now,
                                                   int64_t window_s) {
    const int64_t start = policy::window_start(now, window_s);
    const std::string vk = view_key(key, window_s);
    // Charged here and not yet in the totals read: queued, or in a flush not yet confirmed.
    auto pending_for = [&](int64_t s) {
        uint64_t n = 0;
        for (const auto* m : {&pending_, &unconfirmed_}) {
            auto it = m->find(pending_key{key, s, window_s});
            n += it == m->end() ? 0 : it->second;
        }
        return n;
    };
    {
        std::lock_guard lock(mutex_);
        auto it = views_.find(vk);
        if (it != views_.end() && steady::now() - it->second.read_at < settings_.refresh_interval &&
            (it->second.start == start || it->second.start == start - window_s)) {
            policy::window_counts c = it->second.db;
            if (it->second.start != start) {  // the window rolled since the read
                c = {c.current, 0};
            }
            c.current += pending_for(start);
            c.previous += pending_for(start - window_s);
            return lookup<policy::window_counts>::found(c);
        }
    }
    auto read_at = steady::now();
    auto r = run([&](db::connection& conn) {
        return conn.query(read_counts_sql, {key, start, start - window_s});
    });
    if (!r) {
        return lookup<policy::window_counts>::temp_fail(db::describe(r.error()));
    }
    policy::window_counts db_counts;
    for (const auto& row : r->rows) {
        (row.i64(0) == start ? db_counts.current : db_counts.previous) = row.u64(1);
    }
    std::lock_guard lock(mutex_);
    bound_cache(views_);
    views_[vk] = counter_view{start, db_counts, read_at};
    policy::window_counts c = db_counts;
    c.current += pending_for(start);
    c.previous += pending_for(start - window_s);
    return lookup<policy::window_counts>::found(c);
}

void policy_store::charge(const std::string& key, int64_t now, int64_t window_s, uint64_t n) {
    if (n == 0) {
        return;
    }
    std::lock_guard lock(mutex_);
    pending_[pending_key{key, policy::window_start(now, window_s), window_s}] += n;
}

// Everything queued since the last flush, in one transaction: one commit (one log flush on
// the server) however many counters and greylist facts, and the batch's flush_id in this
// shard's counter_flushes row. A deadlock is retried at once, up to 3 times (the server rolled
// it back). Any other temporary failure leaves the batch in doubt: its COMMIT may have been
// applied with the reply lost, or may still be running on the server (a read timeout). The
// next flush reads the shard's flush_id with FOR UPDATE in its own transaction, which waits
// for any transaction of ours still holding that row, so what it reads is final: an attempt
// whose id it finds was stored, with every attempt before it (each attempt writes what no
// earlier one is known to have stored, deciding by that same read), and is not written again.
// Until then the batches in doubt count for this instance's readers (unconfirmed_).
void policy_store::flush() {
    std::lock_guard serial(flush_mutex_);
    std::map<pending_key, uint64_t> fresh;
    std::vector<greylist_op> fresh_ops;
    std::vector<in_doubt> doubts;
    {
        std::lock_guard lock(mutex_);
        fresh.swap(pending_);
        fresh_ops.swap(greylist_ops_);
        for (const auto& [k, n] : fresh) {
            unconfirmed_[k] += n;
        }
        doubts = doubts_;
    }
    if (fresh.empty() && fresh_ops.empty() && doubts.empty()) {
        return;
    }
    const uint64_t id = ++last_flush_id_;
    // What this attempt writes: the newest doubt (it holds all the unknown ones before it)
    // less what the read finds stored, plus what is new. Until the read, all of it.
    std::map<pending_key, uint64_t> batch;
    std::vector<greylist_op> ops;
    auto plan = [&](const in_doubt* stored_base) {
        batch.clear();
        ops.clear();
        if (!doubts.empty() && stored_base != &doubts.back()) {
            batch = doubts.back().batch;
            ops = doubts.back().ops;
            if (stored_base != nullptr) {
                forget_stored(batch, ops, *stored_base);
            }
        }
        for (const auto& [k, n] : fresh) {
            batch[k] += n;
        }
        ops.insert(ops.end(), fresh_ops.begin(), fresh_ops.end());
    };
    size_t stored = 0;  // doubts[0..stored) are known stored (read inside the transaction)
    plan(nullptr);
    auto write_all = [&](db::connection& conn) -> db::outcome<void> {
        if (auto b = conn.begin(); !b) {
            return b;
        }
        if (!doubts.empty()) {
            statements_.fetch_add(1, std::memory_order_relaxed);
            auto last = conn.query(last_flush_locked_sql, {shard_});
            if (!last) {
                return last.error();
            }
            uint64_t current = last->rows.empty() ? 0 : last->rows.front().u64(0);
            for (size_t i = 0; i < doubts.size(); ++i) {
                if (doubts[i].id == current) {
                    stored = i + 1;
                }
            }
            plan(stored > 0 ? &doubts[stored - 1] : nullptr);
        }
        for (const auto& [k, n] : batch) {
            statements_.fetch_add(1, std::memory_order_relaxed);
            auto q = conn.query(add_count_sql,
                                {k.key, k.start, shard_, n, k.start + 2 * k.window_s + 60});
            if (!q) {
                return q.error();
            }
        }
        for (const auto& op : ops) {
            if (auto q = apply(conn, op); !q) {
                return q;
            }
        }
        statements_.fetch_add(2, std::memory_order_relaxed);
        if (auto q = conn.query(mark_flush_sql, {shard_, id}); !q) {
            return q.error();
        }
        return conn.commit();
    };
    db::outcome<void> r = db::error{};
    for (int attempt = 0; attempt < 3; ++attempt) {
        auto lease = pool_.acquire();
        if (!lease) {
            r = lease.error();
            break;
        }
        r = write_all(**lease);
        if (r || r.error().code != 1213) {
            break;
        }
        std::this_thread::sleep_for(db::deadlock_backoff());
    }
    std::lock_guard lock(mutex_);
    if (stored > 0) {
        // Final, whatever happened next: those attempts committed, and only once. The doubts
        // after them held their content too: now only what is still unknown.
        const in_doubt base = doubts[stored - 1];
        log::info(
            "rate counters: {} flush(es) whose commit was not confirmed had been stored;"
            " not written again",
            stored);
        count_flushed(base.batch, true);
        flushes_found_stored_.fetch_add(stored, std::memory_order_relaxed);
        updates_stored_.fetch_add(base.batch.size() + base.ops.size(), std::memory_order_relaxed);
        doubts_.erase(doubts_.begin(), doubts_.begin() + static_cast<ptrdiff_t>(stored));
        for (auto& d : doubts_) {
            forget_stored(d.batch, d.ops, base);
        }
    }
    if (!r && !r.error().temporary) {
        // Retrying cannot help (a value the schema refuses): drop what is not known stored
        // rather than block every later flush.
        log::error("dropped {} rate counter and {} greylisting updates: {}", batch.size(),
                   ops.size(), db::describe(r.error()));
        updates_dropped_.fetch_add(batch.size() + ops.size(), std::memory_order_relaxed);
        doubts_.clear();
        unconfirmed_.clear();
        return;
    }
    if (!r) {
        flushes_failed_.fetch_add(1, std::memory_order_relaxed);
        doubts_.push_back({id, std::move(batch), std::move(ops)});
        if (unconfirmed_.size() > max_pending_counters) {
            log::warning("database away too long: dropping {} rate counter updates",
                         unconfirmed_.size());
            updates_dropped_.fetch_add(doubts_.back().batch.size() + doubts_.back().ops.size(),
                                       std::memory_order_relaxed);
            doubts_.clear();
            unconfirmed_.clear();
        }
        if (!flush_failing_) {
            log::warning(
                "cannot store rate counters and greylisting state, keeping them in"
                " memory: {}",
                db::describe(r.error()));
        }
        flush_failing_ = true;
        return;
    }
    if (flush_failing_) {
        log::info("rate counters and greylisting state stored again");
    }
    flush_failing_ = false;
    flushes_stored_.fetch_add(1, std::memory_order_relaxed);
    updates_stored_.fetch_add(batch.size() + ops.size(), std::memory_order_relaxed);
    count_flushed(batch, true);
    doubts_.clear();
}

void policy_store::forget_stored(std::map<pending_key, uint64_t>& batch,
                                 std::vector<greylist_op>& ops, const in_doubt& stored) {
    for (const auto& [k, n] : stored.batch) {
        auto it = batch.find(k);
        if (it != batch.end()) {
            it->second -= std::min(it->second, n);
            if (it->second == 0) {
                batch.erase(it);
            }
        }
    }
    // A later attempt's operations start with those of the attempts it followed.
    ops.erase(ops.begin(),
              ops.begin() + static_cast<ptrdiff_t>(std::min(ops.size(), stored.ops.size())));
}

void policy_store::count_flushed(const std::map<pending_key, uint64_t>& batch, bool stored) {
    for (const auto& [k, n] : batch) {
        auto u = unconfirmed_.find(k);
        if (u != unconfirmed_.end()) {
            u->second -= std::min(u->second, n);
            if (u->second == 0) {
                unconfirmed_.erase(u);
            }
        }
        if (!stored) {
            continue;
        }
        // What this instance wrote is part of the totals from now on, until the next read.
        auto it = views_.find(view_key(k.key, k.window_s));
        if (it != views_.end()) {
            if (it->second.start == k.start) {
                it->second.db.current += n;
            } else if (it->second.start == k.start + k.window_s) {
                it->second.db.previous += n;
            }
        }
    }
}

db::outcome<void> policy_store::apply(db::connection& conn, const greylist_op& op) {
    auto params = triplet_params(op.net, op.sender, op.recipient);
    statements_.fetch_add(1, std::memory_order_relaxed);
    switch (op.what) {
        case greylist_write::first_seen:
            if (auto q = conn.query(see_triplet_sql, params); !q) {
                return q.error();
            }
            return {};
        case greylist_write::touch:
            if (auto q = conn.query(touch_triplet_sql, params); !q) {
                return q.error();
            }
            return {};
        case greylist_write::restart:
            if (auto q = conn.query(restart_triplet_sql, params); !q) {
                return q.error();
            }
            return {};
        case greylist_write::pass: {
            auto up = conn.query(pass_triplet_sql, params);
            if (!up) {
                return up.error();
            }
            if (up->affected_rows != 1) {
                return {};  // another host recorded the pass: count the client once
            }
            statements_.fetch_add(1, std::memory_order_relaxed);
            if (auto q = conn.query(count_pass_sql, {op.net, shard_}); !q) {
                return q.error();
            }
            return {};
        }
    }
    return {};
}

void policy_store::flusher_loop() {
    while (true) {
        std::chrono::milliseconds interval;
        {
            std::lock_guard lock(mutex_);
            interval = settings_.flush_interval;
        }
        {
            std::unique_lock lock(stop_mutex_);
            if (stop_cv_.wait_for(lock, interval, [this] { return stopping_; })) {
                return;
            }
        }
        flush();
        if (steady::now() - last_expiry_ > std::chrono::minutes(1)) {
            last_expiry_ = steady::now();
            expire_old_rows();
        }
    }
}

// Old rows go in small batches, so no statement holds locks for long (docs/cluster.md rule 9's
// reason applies to DML on Galera too). Failures are retried at the next round.
void policy_store::expire_old_rows() {
    store_settings s;
    {
        std::lock_guard lock(mutex_);
        s = settings_;
    }
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    (void)run([&](db::connection& conn) { return conn.query(expire_counters_sql, {now}); });
    (void)run([&](db::connection& conn) {
        return conn.query(expire_greylist_sql, {s.greylist_max_age_s});
    });
    (void)run([&](db::connection& conn) {
        return conn.query(expire_unpassed_sql, {s.greylist_stale_s});
    });
    (void)run([&](db::connection& conn) {
        return conn.query(expire_clients_sql, {s.auto_whitelist_age_s});
    });
}

bool policy_store::known_passed(const std::string& triplet_key) {
    std::lock_guard lock(mutex_);
    auto it = passed_.find(triplet_key);
    if (it == passed_.end()) {
        return false;
    }
    if (steady::now() - it->second > settings_.pass_cache_time) {
        passed_.erase(it);  // ask the database again (and keep last_seen fresh there)
        return false;
    }
    return true;
}

void policy_store::remember_pass(const std::string& triplet_key) {
    std::lock_guard lock(mutex_);
    bound_cache(passed_);
    passed_[triplet_key] = steady::now();
}

lookup<policy::triplet_state> policy_store::see_triplet(const std::string& net,
                                                        const std::string& sender,
                                                        const std::string& recipient) {
    auto r = run([&](db::connection& conn) {
        return conn.query(read_triplet_sql, triplet_params(net, sender, recipient));
    });
    if (!r) {
        return lookup<policy::triplet_state>::temp_fail(db::describe(r.error()));
    }
    policy::triplet_state st;
    if (r->rows.empty()) {
        st.new_triplet = true;
    } else {
        st.age_s = r->rows.front().i64(0);
        st.passed = r->rows.front().boolean(1);
    }
    return lookup<policy::triplet_state>::found(st);
}

void policy_store::queue_greylist(greylist_write what, const std::string& net,
                                  const std::string& sender, const std::string& recipient) {
    std::lock_guard lock(mutex_);
    if (greylist_ops_.size() < max_queued_greylist_ops) {
        greylist_ops_.push_back({what, net, sender, recipient});
    }
}

lookup<bool> policy_store::client_whitelisted(const std::string& net, uint64_t needed) {
    const std::string key = "client\n" + net;
    int64_t age;
    {
        std::lock_guard lock(mutex_);
        auto no = not_whitelisted_.find(key);
        if (no != not_whitelisted_.end() && steady::now() - no->second < std::chrono::minutes(1)) {
            return lookup<bool>::found(false);
        }
        age = settings_.auto_whitelist_age_s;
    }
    if (known_passed(key)) {
        return lookup<bool>::found(true);
    }
    auto r = run([&](db::connection& conn) { return conn.query(client_passes_sql, {net, age}); });
    if (!r) {
        return lookup<bool>::temp_fail(db::describe(r.error()));
    }
    bool whitelisted = !r->rows.empty() && r->rows.front().u64(0) >= needed;
    if (whitelisted) {
        remember_pass(key);
    } else {
        std::lock_guard lock(mutex_);
        bound_cache(not_whitelisted_);
        not_whitelisted_[key] = steady::now();
    }
    return lookup<bool>::found(whitelisted);
}

lookup<store::quota_usage> policy_store::usage(uint64_t address_id) {
    {
        std::lock_guard lock(mutex_);
        auto it = usage_.find(address_id);
        if (it != usage_.end() && steady::now() - it->second.second < settings_.usage_cache_time) {
            return lookup<store::quota_usage>::found(it->second.first);
        }
    }
    auto read_at = steady::now();
    auto r = run([&](db::connection& conn) { return vhost::read_mailbox_usage(conn, address_id); });
    if (!r) {
        return lookup<store::quota_usage>::temp_fail(db::describe(r.error()));
    }
    store::quota_usage u = *r;
    std::lock_guard lock(mutex_);
    bound_cache(usage_);
    usage_[address_id] = {u, read_at};
    return lookup<store::quota_usage>::found(u);
}

namespace {

// Adds one row of limits_sql to `table`; notes its keys in `keys` (the domain's entries).
void add_limit(policy::send_limit_table& table, const db::row& row, vhost::domain_entries& keys) {
    std::string domain = ascii_lower(row.str(1));
    bool for_address = !row.is_null(2);
    std::string address = for_address ? ascii_lower(row.str(2)) + "@" + domain : "";
    keys.domain = domain;
    if (for_address) {
        keys.addresses.push_back(address);
    }
    bool total = row.str(3) == "total";
    std::string what = row.str(4);
    uint64_t max = row.u64(6);
    if (what == "recipients_per_message") {
        (for_address ? table.address_per_message[address] : table.domain_per_message[domain]) = max;
        return;
    }
    policy::rate_rule rule;
    rule.what = what == "messages"     ? policy::budget::messages
                : what == "recipients" ? policy::budget::recipients
                                       : policy::budget::bytes;
    rule.window_s = std::max<int64_t>(1, row.i64(5));
    rule.max = max;
    if (for_address) {
        table.address_rules[address].push_back(rule);
    } else if (total) {
        table.domain_total[domain].push_back(rule);
    } else {
        table.domain_each[domain].push_back(rule);
    }
}

void remove_limits(policy::send_limit_table& table, const vhost::domain_entries& keys) {
    table.domain_each.erase(keys.domain);
    table.domain_total.erase(keys.domain);
    table.domain_per_message.erase(keys.domain);
    for (const auto& a : keys.addresses) {
        table.address_rules.erase(a);
        table.address_per_message.erase(a);
    }
}

}  // namespace

db::outcome<void> policy_store::load_limits(db::connection& conn) {
    return vhost::follow_changes(conn, limit_changes_, max_domain_reads,
                                 [this](db::connection& c, const vhost::domain_changes& changes) {
                                     return apply_limit_changes(c, changes);
                                 });
}

db::outcome<void> policy_store::apply_limit_changes(db::connection& conn,
                                                    const vhost::domain_changes& changes) {
    // Built aside and installed at the end: a failed read changes nothing.
    auto table = changes.all ? std::make_shared<policy::send_limit_table>()
                             : std::make_shared<policy::send_limit_table>(*limits());
    auto applied = vhost::apply_domain_changes(
        changes, limit_keys_, [&](const vhost::domain_entries& old) { remove_limits(*table, old); },
        [&](std::optional<uint64_t> id, vhost::domain_entry_map& added) -> db::outcome<void> {
            statements_.fetch_add(1, std::memory_order_relaxed);
            auto r = id ? conn.query(domain_limits_sql, {db::param{*id}}) : conn.query(limits_sql);
            if (!r) {
                return r.error();
            }
            for (const auto& row : r->rows) {
                add_limit(*table, row, added[row.u64(0)]);
            }
            return {};
        });
    if (!applied) {
        return applied;
    }
    std::lock_guard lock(mutex_);
    limits_ = std::move(table);
    return {};
}

std::shared_ptr<const policy::send_limit_table> policy_store::limits() const {
    std::lock_guard lock(mutex_);
    return limits_;
}

}  // namespace vhostmail::policyd
