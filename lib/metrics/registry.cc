// SPDX-License-Identifier: Apache-2.0
#include "lib/metrics/registry.hh"

#include <charconv>
#include <cmath>
#include <stdexcept>

namespace vhostmail::metrics {

histogram::histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
    for (size_t i = 0; i <= bounds_.size(); ++i) {
        counts_[i].store(0, std::memory_order_relaxed);
    }
}

void histogram::observe(double v) {
    size_t i = 0;
    while (i < bounds_.size() && v > bounds_[i]) {
        ++i;
    }
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(v, std::memory_order_relaxed);
}

histogram::snapshot histogram::read() const {
    snapshot s;
    uint64_t running = 0;
    for (size_t i = 0; i <= bounds_.size(); ++i) {
        running += counts_[i].load(std::memory_order_relaxed);
        s.cumulative.push_back(running);
    }
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

const std::vector<double>& latency_buckets() {
    static const std::vector<double> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                            0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                            1,      2.5,     5,      10,    30};
    return bounds;
}

bool valid_metric_name(std::string_view name) {
    if (name.empty()) {
        return false;
    }
    for (size_t i = 0; i < name.size(); ++i) {
        char c = name[i];
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
        if (!letter && !(i > 0 && c >= '0' && c <= '9')) {
            return false;
        }
    }
    return true;
}

bool valid_label_name(std::string_view name) {
    return valid_metric_name(name) && name.find(':') == std::string_view::npos &&
           !name.starts_with("__") && name != "le";
}

namespace {

// The text format's escapes: backslash and newline, and in label values the double quote.
std::string escaped(std::string_view text, bool quotes) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) {
        if (c == '\\' || (quotes && c == '"')) {
            out += '\\';
            out += c;
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string escape_label_value(std::string_view value) {
    return escaped(value, true);
}

std::string escape_help(std::string_view help) {
    return escaped(help, false);
}

std::string format_number(double v) {
    if (std::isnan(v)) {
        return "NaN";
    }
    if (std::isinf(v)) {
        return v > 0 ? "+Inf" : "-Inf";
    }
    char buf[32];
    auto done = std::to_chars(buf, buf + sizeof(buf), v);
    return std::string(buf, done.ptr);
}

namespace {

// `{a="x",b="y"}` (with `extra`, e.g. le="0.5", last); "" when there is no label at all.
std::string label_text(const std::vector<std::string>& names, const label_values& values,
                       std::string_view extra = "") {
    if (names.empty() && extra.empty()) {
        return "";
    }
    std::string out = "{";
    for (size_t i = 0; i < names.size(); ++i) {
        out += (i == 0 ? "" : ",") + names[i] + "=\"" + escape_label_value(values[i]) + "\"";
    }
    if (!extra.empty()) {
        out += names.empty() ? "" : ",";
        out += extra;
    }
    return out + "}";
}

}  // namespace

template <typename Metric>
Metric& family<Metric>::with(const label_values& values) {
    if (values.size() != label_names_.size()) {
        throw std::invalid_argument("metrics: " + std::to_string(values.size()) +
                                    " label values for " + std::to_string(label_names_.size()) +
                                    " label names");
    }
    std::lock_guard lock(mutex_);
    auto& slot = series_[values];
    if (!slot) {
        if constexpr (std::is_same_v<Metric, histogram>) {
            slot = std::make_unique<histogram>(bounds_);
        } else {
            slot = std::make_unique<Metric>();
        }
    }
    return *slot;
}

template class family<counter>;
template class family<gauge>;
template class family<histogram>;

struct registry::entry {
    std::string help;
    std::string type;
    std::vector<std::string> label_names;
    std::unique_ptr<family<counter>> counters;
    std::unique_ptr<family<gauge>> gauges;
    std::unique_ptr<family<histogram>> histograms;
    std::function<double()> computed;
};

registry::registry() = default;
registry::~registry() = default;

registry::entry& registry::add(std::string name, std::string help, std::string type,
                               std::vector<std::string> label_names) {
    if (!valid_metric_name(name)) {
        throw std::invalid_argument("metrics: invalid name " + name);
    }
    for (const auto& l : label_names) {
        if (!valid_label_name(l)) {
            throw std::invalid_argument("metrics: invalid label name " + l + " of " + name);
        }
    }
    auto& e = families_[name];
    if (e) {
        if (e->type != type || e->label_names != label_names || type.starts_with("computed")) {
            throw std::invalid_argument("metrics: " + name + " registered twice, differently");
        }
        return *e;
    }
    e = std::make_unique<entry>();
    e->help = std::move(help);
    e->type = std::move(type);
    e->label_names = std::move(label_names);
    return *e;
}

template <typename Metric>
family<Metric>& registry::made(std::unique_ptr<family<Metric>>& slot,
                               std::vector<std::string> label_names, std::vector<double> bounds) {
    if (!slot) {
        slot.reset(new family<Metric>(std::move(label_names), std::move(bounds)));
    }
    return *slot;
}

family<counter>& registry::counters(std::string name, std::string help,
                                    std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    auto& e = add(std::move(name), std::move(help), "counter", label_names);
    return made(e.counters, std::move(label_names), {});
}

family<gauge>& registry::gauges(std::string name, std::string help,
                                std::vector<std::string> label_names) {
    std::lock_guard lock(mutex_);
    auto& e = add(std::move(name), std::move(help), "gauge", label_names);
    return made(e.gauges, std::move(label_names), {});
}

family<histogram>& registry::histograms(std::string name, std::string help,
                                        std::vector<std::string> label_names,
                                        std::vector<double> bounds) {
    for (size_t i = 0; i < bounds.size(); ++i) {
        if (!std::isfinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
            throw std::invalid_argument("metrics: the buckets of " + name +
                                        " are not finite and ascending");
        }
    }
    std::lock_guard lock(mutex_);
    auto& e = add(std::move(name), std::move(help), "histogram", label_names);
    return made(e.histograms, std::move(label_names), std::move(bounds));
}

void registry::computed(std::string name, std::string help, std::function<double()> read) {
    std::lock_guard lock(mutex_);
    auto& e = add(std::move(name), std::move(help), "computed gauge", {});
    e.computed = std::move(read);
}

void registry::computed_counter(std::string name, std::string help, std::function<double()> read) {
    std::lock_guard lock(mutex_);
    auto& e = add(std::move(name), std::move(help), "computed counter", {});
    e.computed = std::move(read);
}

std::string registry::expose() const {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const auto& family_entry : families_) {
        // Named references, not bindings: the lambdas below capture them (clang 14 cannot).
        const std::string& name = family_entry.first;
        const auto& e = family_entry.second;
        std::string_view type = e->type;
        if (type.starts_with("computed ")) {
            type.remove_prefix(9);
        }
        out += "# HELP " + name + " " + escape_help(e->help) + "\n";
        out += "# TYPE " + name + " " + std::string(type) + "\n";
        if (e->computed) {
            out += name + " " + format_number(e->computed()) + "\n";
        }
        auto each = [&](const auto& fam, auto&& line) {
            if (!fam) {
                return;
            }
            std::lock_guard series_lock(fam->mutex_);
            for (const auto& [values, metric] : fam->series_) {
                line(values, *metric);
            }
        };
        each(e->counters, [&](const label_values& v, const counter& c) {
            out += name + label_text(e->label_names, v) + " " + std::to_string(c.value()) + "\n";
        });
        each(e->gauges, [&](const label_values& v, const gauge& g) {
            out += name + label_text(e->label_names, v) + " " + std::to_string(g.value()) + "\n";
        });
        each(e->histograms, [&](const label_values& v, const histogram& h) {
            auto s = h.read();
            const auto& bounds = e->histograms->bounds_;
            for (size_t i = 0; i <= bounds.size(); ++i) {
                std::string le =
                    "le=\"" + (i < bounds.size() ? format_number(bounds[i]) : "+Inf") + "\"";
                out += name + "_bucket" + label_text(e->label_names, v, le) + " " +
                       std::to_string(s.cumulative[i]) + "\n";
            }
            out +=
                name + "_sum" + label_text(e->label_names, v) + " " + format_number(s.sum) + "\n";
            out += name + "_count" + label_text(e->label_names, v) + " " +
                   std::to_string(s.cumulative.back()) + "\n";
        });
    }
    return out;
}

}  // namespace vhostmail::metrics
