// SPDX-License-Identifier: Apache-2.0
#include "daemons/policyd/notice_sender.hh"

#include <chrono>
#include <utility>

#include "lib/log/log.hh"
#include "lib/os/command.hh"

namespace vhostmail::policyd {

notice_sender::~notice_sender() {
    if (worker_.joinable()) {
        worker_.request_stop();
        worker_.join();
    }
}

bool notice_sender::post(notice n) {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_queued_) {
        return false;
    }
    queue_.push_back(std::move(n));
    if (!worker_.joinable()) {
        worker_ = std::jthread([this](std::stop_token stop) { run(stop); });
    }
    queued_.notify_one();
    return true;
}

void notice_sender::run(std::stop_token stop) {
    for (;;) {
        notice n;
        {
            std::unique_lock lock(mutex_);
            if (!queued_.wait(lock, stop, [this] { return !queue_.empty(); })) {
                return;  // stopping, nothing left to send
            }
            n = std::move(queue_.front());
            queue_.pop_front();
        }
        os::program_options o;
        o.time_limit = std::chrono::seconds(30);
        auto r = os::run_sendmail(n.sendmail, "", n.to, n.message, o);
        if (r.what != os::program_result::kind::exited || r.status != 0) {
            log::warning("cannot send the sending-limit notice for {} to {}: {}", n.about,
                         n.to_text, os::outcome_text(r, "sendmail"));
        } else {
            log::info("sending-limit notice for {} sent to {}", n.about, n.to_text);
        }
    }
}

}  // namespace vhostmail::policyd
