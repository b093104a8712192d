// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/outbox.hh"

#include <algorithm>
#include <ctime>

#include "lib/core/strings.hh"
#include "lib/log/log.hh"

namespace vhostmail::deliver {

namespace {

constexpr size_t batch = 20;
constexpr std::chrono::seconds max_backoff{3600};

}  // namespace

autoreply_outbox::autoreply_outbox(sql_delivery_store& store, outbox_settings s)
    : store_(store), settings_(std::move(s)) {
    thread_ = std::thread([this] {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            auto interval = settings_.interval;
            lock.unlock();
            size_t sent = send_due();
            if (auto* counter = sent_.load(); counter != nullptr) {
                counter->add(sent);
            }
            lock.lock();
            wake_.wait_for(lock, interval, [this] { return stopping_; });
        }
    });
}

autoreply_outbox::~autoreply_outbox() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void autoreply_outbox::set_settings(outbox_settings s) {
    std::lock_guard lock(mutex_);
    settings_ = std::move(s);
}

size_t autoreply_outbox::send_due() {
    outbox_settings s;
    {
        std::lock_guard lock(mutex_);
        s = settings_;
    }
    // A claim lasts as long as one sendmail may run, so a crash here leaves the row due again.
    auto lease =
        std::chrono::duration_cast<std::chrono::seconds>(s.time_limit) + std::chrono::seconds(60);
    size_t sent = 0;
    for (const auto& q : store_.claim_due_replies(batch, lease)) {
        os::program_options o;
        o.time_limit = s.time_limit;
        o.limits = s.limits;
        auto r = os::run_sendmail(s.sendmail, "", {q.recipient}, q.message, o);
        if (r.what == os::program_result::kind::exited && r.status == 0) {
            (void)store_.reply_done(q.id);
            log::info("outbox: auto-reply {} sent to <{}> after {} attempt(s)", q.id,
                      log_field(q.recipient), q.attempts + 1);
            ++sent;
            continue;
        }
        std::string why = os::outcome_text(r, "sendmail");
        auto age = std::chrono::seconds(static_cast<int64_t>(std::time(nullptr)) - q.created_at);
        if (age >= s.lifetime) {
            (void)store_.reply_done(q.id);
            log::error("outbox: auto-reply {} to <{}> given up after {} attempts: {}", q.id,
                       log_field(q.recipient), q.attempts + 1, why);
            continue;
        }
        auto interval = std::max(std::chrono::duration_cast<std::chrono::seconds>(s.interval),
                                 std::chrono::seconds(1));
        auto backoff =
            std::min(interval * (int64_t{1} << std::min<uint32_t>(q.attempts, 12)), max_backoff);
        (void)store_.reply_failed(q.id, why, backoff);
        log::warning("outbox: auto-reply {} to <{}> not sent ({}); next try in {}s", q.id,
                     log_field(q.recipient), why, backoff.count());
    }
    return sent;
}

}  // namespace vhostmail::deliver
