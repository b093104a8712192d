// SPDX-License-Identifier: Apache-2.0
// outbox.hh - vhostmail-lmtpd's sender of the auto-replies that waited in the outbox
// (sql/migrations/0006_autoreply_outbox.sql): replies whose message was delivered while
// sendmail could not take them. Every interval it claims the due rows (any lmtpd of a cluster
// may; a conditional claim decides), hands each to sendmail as "-i -f <> -- recipient",
// deletes it once taken, backs off when not (the interval doubled per attempt, at most an hour)
// and gives up after `lifetime`, with an error log, as Postfix's queue does.
// Thread safety: one thread of its own; set_settings from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lib/metrics/registry.hh"
#include "lib/os/command.hh"

#include "daemons/deliver/delivery_store.hh"

namespace vhostmail::deliver {

struct outbox_settings {
    std::vector<std::string> sendmail;  // argv of Postfix's sendmail
    std::chrono::milliseconds interval{60000};
    std::chrono::seconds lifetime{5 * 86400};
    std::chrono::milliseconds time_limit{300000};
    os::program_limits limits;
};

class autoreply_outbox {
public:
    autoreply_outbox(sql_delivery_store& store, outbox_settings s);
    ~autoreply_outbox();
    autoreply_outbox(const autoreply_outbox&) = delete;
    autoreply_outbox& operator=(const autoreply_outbox&) = delete;

    void set_settings(outbox_settings s);

    // Counts the replies sendmail took in `sent` from now on (vhostmail_vacation_replies_total).
    void count_sent_in(metrics::counter& sent) { sent_.store(&sent); }

    // One round: what is due now. Returns how many replies sendmail took.
    size_t send_due();

private:
    sql_delivery_store& store_;
    std::mutex mutex_;
    std::condition_variable wake_;
    outbox_settings settings_;
    bool stopping_ = false;
    std::atomic<metrics::counter*> sent_{nullptr};
    std::thread thread_;
};

}  // namespace vhostmail::deliver
