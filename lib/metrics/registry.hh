// SPDX-License-Identifier: Apache-2.0
// registry.hh - a daemon's metrics and their Prometheus text exposition (format 0.0.4,
// https://prometheus.io/docs/instrumenting/exposition_formats/). Pure: no I/O; the metrics
// listener serves expose()'s text.
//
// A family (one name, one help text, one type, fixed label names) has a series per label
// values, made on first use and never removed: hold the reference a `with` returns and count
// into it on the hot path (one relaxed atomic add, no lock). Label values come from small,
// fixed sets chosen by the code (a map name, a result), never from a client: each distinct
// value is a series kept for good.
// Names follow Prometheus conventions: a "vhostmail_" prefix, base units (seconds, bytes),
// "_total" for counters. An invalid name is a programming error: std::invalid_argument.
// Thread safety: all members may be called from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::metrics {

using label_values = std::vector<std::string>;

class counter {
public:
    void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }

    uint64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<uint64_t> value_{0};
};

class gauge {
public:
    void set(int64_t v) { value_.store(v, std::memory_order_relaxed); }

    void add(int64_t n) { value_.fetch_add(n, std::memory_order_relaxed); }

    int64_t value() const { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<int64_t> value_{0};
};

// Observations of a duration or a size, counted into fixed buckets (upper bounds, ascending).
class histogram {
public:
    explicit histogram(const std::vector<double>& bounds);

    void observe(double v);

    struct snapshot {
        std::vector<uint64_t> cumulative;  // per bound, then +Inf (= count)
        double sum = 0;
    };

    snapshot read() const;

private:
    const std::vector<double>& bounds_;
    std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // per bound, then above the last
    std::atomic<double> sum_{0};
};

// Latency buckets for requests answered from memory up to database round trips and timeouts.
const std::vector<double>& latency_buckets();

template <typename Metric>
class family;

class registry {
public:
    registry();
    registry(const registry&) = delete;
    registry& operator=(const registry&) = delete;
    ~registry();

    family<counter>& counters(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
    family<gauge>& gauges(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
    family<histogram>& histograms(std::string name, std::string help,
                                  std::vector<std::string> label_names,
                                  std::vector<double> bounds = latency_buckets());
    // A gauge computed when scraped (an age, a size owned elsewhere); `read` must be cheap and
    // safe to call from the metrics listener's thread.
    void computed(std::string name, std::string help, std::function<double()> read);
    // The same for a count kept elsewhere that only grows (a "_total").
    void computed_counter(std::string name, std::string help, std::function<double()> read);

    // Every family, sorted by name, in the text format.
    std::string expose() const;

private:
    struct entry;
    entry& add(std::string name, std::string help, std::string type,
               std::vector<std::string> label_names);
    // The family in `slot`, made on first registration.
    template <typename Metric>
    static family<Metric>& made(std::unique_ptr<family<Metric>>& slot,
                                std::vector<std::string> label_names, std::vector<double> bounds);

    mutable std::mutex mutex_;
    std::map<std::string, std::unique_ptr<entry>> families_;
};

template <typename Metric>
class family {
public:
    // The series of these label values (as many as the family has label names).
    Metric& with(const label_values& values = {});

private:
    friend class registry;

    family(std::vector<std::string> label_names, std::vector<double> bounds)
        : label_names_(std::move(label_names)), bounds_(std::move(bounds)) {}

    const std::vector<std::string> label_names_;
    const std::vector<double> bounds_;  // histograms'
    mutable std::mutex mutex_;
    std::map<label_values, std::unique_ptr<Metric>> series_;
};

// Text-format pieces, exposed for the tests and the fuzz target.
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);
std::string escape_label_value(std::string_view value);  // backslash, double quote, newline
std::string escape_help(std::string_view help);          // backslash, newline
std::string format_number(double v);                     // shortest form; +Inf, -Inf, NaN

}  // namespace vhostmail::metrics
