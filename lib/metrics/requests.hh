// SPDX-License-Identifier: Apache-2.0
// requests.hh - what every daemon counts about the requests it answers, under the same names in
// each, so that `vhostmail status` and a dashboard read any daemon alike:
//   vhostmail_requests_total{<kind>,result}        counter: answers by kind and result
//   vhostmail_request_duration_seconds{<kind>}     histogram: from request to answer
//   vhostmail_recent_requests                      gauge: requests of the last 5 minutes
//   vhostmail_recent_request_failures              gauge: of which failed (temporary or error)
// <kind> is the daemon's own label (lookupd: map, policyd: check, authd: mechanism, lmtpd:
// stage); results are small fixed sets ("found", "tempfail", ...); which results are failures
// is said when a series is made. docs/metrics.md lists every daemon's values.
// Thread safety: all members may be called from any thread; record() takes no lock.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

#include "lib/metrics/registry.hh"

namespace vhostmail::metrics {

// Events of the last minutes, in one-minute slots, for gauges such as "requests in the last 5
// minutes". An event that races a slot's turn to a new minute may be lost: a figure to look
// at, not to bill by.
class recent_count {
public:
    static constexpr int64_t max_minutes = 15;

    void add(uint64_t n = 1);
    // Events of the current minute and the `minutes - 1` before it (at most max_minutes).
    uint64_t last(int64_t minutes) const;

    // For tests: the same with an explicit minute number.
    void add_at(int64_t minute, uint64_t n);
    uint64_t last_at(int64_t minute, int64_t minutes) const;

private:
    static constexpr size_t slots = max_minutes + 1;
    std::array<std::atomic<int64_t>, slots> minute_{};
    std::array<std::atomic<uint64_t>, slots> count_{};
};

class request_meter;

// One kind and result: count into it with record() (hold it; making one takes locks).
class request_series {
public:
    void record(std::chrono::steady_clock::duration took) const;

private:
    friend class request_meter;

    request_series(request_meter& meter, counter& count, histogram& latency, bool failure)
        : meter_(&meter), count_(&count), latency_(&latency), failure_(failure) {}

    request_meter* meter_;
    counter* count_;
    histogram* latency_;
    bool failure_;
};

class request_meter {
public:
    static constexpr int64_t recent_minutes = 5;

    // Registers the families above in `r`, labelled by `kind_label` ("map", "check", ...).
    request_meter(registry& r, std::string kind_label);

    // The series of one kind and result; `failure`: answers that went wrong for the client
    // (temporary failures and errors), counted in vhostmail_recent_request_failures.
    request_series series(const std::string& kind, const std::string& result, bool failure);

private:
    friend class request_series;
    family<counter>& requests_;
    family<histogram>& latency_;
    recent_count recent_;
    recent_count recent_failures_;
};

}  // namespace vhostmail::metrics
