// SPDX-License-Identifier: Apache-2.0
// notice_sender.hh - sends policyd's sending-limit notices through sendmail, one at a time, on
// a thread of its own (started with the first notice), so a slow sendmail never holds a policy
// answer. The thread is joined when the sender is destroyed: a notice being sent is finished
// (bounded by its own time limit) and none is abandoned half-way while the process exits.
// Thread safety: post() may be called from any thread.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace vhostmail::policyd {

struct notice {
    std::vector<std::string> sendmail;  // the command, argv
    std::vector<std::string> to;
    std::string message;
    std::string about;    // the login or domain, for the log
    std::string to_text;  // `to` as the message's To: header lists them, for the log
};

class notice_sender {
public:
    explicit notice_sender(size_t max_queued = 100) : max_queued_(max_queued) {}

    ~notice_sender();
    notice_sender(const notice_sender&) = delete;
    notice_sender& operator=(const notice_sender&) = delete;

    // Queues a notice; false (nothing queued) when max_queued are already waiting.
    bool post(notice n);

private:
    void run(std::stop_token stop);

    const size_t max_queued_;
    std::mutex mutex_;
    std::condition_variable_any queued_;
    std::deque<notice> queue_;
    std::jthread worker_;  // last: stopped and joined before the queue goes
};

}  // namespace vhostmail::policyd
