// SPDX-License-Identifier: Apache-2.0
// params.hh - typed parameter declarations (Postfix's VAR_/DEF_ tables) and the value syntaxes.
// Each daemon fills a param_table (daemons/<d>/params.cc); load_config (config.hh) validates
// the file against it. Value syntax, as in Postfix main.cf(5):
//   integer   [-]digits, within [min, max]
//   boolean   yes/no, true/false, on/off, 1/0 (case-insensitive)
//   duration  digits [ms|s|m|h|d|w]; a bare number is seconds ("300s", "5m", "250ms")
//   size      digits [k|K|m|M|g|G|t|T]; a bare number is bytes; suffixes are 1024 multiples
// (the admin tool reads its sizes and durations with the same parsers)
//   list      names separated by commas and/or whitespace
//   mode      octal file mode, at most 07777 ("0660")
//   choice    one of the declared words (case-insensitive)
// Pure. Thread safety: the parse_* functions are reentrant; a param_table is not synchronized.
#pragma once

#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::config {

enum class param_type { string, integer, boolean, duration, size, list, mode, choice };

// One declared parameter. Designated initializers read well:
//   t.add({.name = "db_pool_size", .type = param_type::integer, .default_value = "4",
//          .doc = "database connections per daemon", .min = 1, .max = 256});
struct param_spec {
    // Every member has an initializer so designated initializers may omit any of them
    // (g++ -Wmissing-field-initializers warns otherwise).
    std::string name{};
    param_type type = param_type::string;
    std::string default_value{};  // raw text like Postfix DEF_ values; may reference "$other"
    std::string doc{};            // one line
    // Bounds for integer (the value), duration (milliseconds) and size (bytes).
    int64_t min = std::numeric_limits<int64_t>::min();
    int64_t max = std::numeric_limits<int64_t>::max();
    std::vector<std::string> choices{};  // choice: the allowed words, in their canonical spelling
    bool secret = false;                 // config::dump shows "<hidden>" instead of the value
    // Former names that still set this parameter, with a deprecation warning (the new name
    // wins when both are set). They may carry another daemon's prefix.
    std::vector<std::string> old_names{};
};

// A duration as a param_spec bound: .min = duration_bound(1s), .max = duration_bound(1h).
constexpr int64_t duration_bound(std::chrono::milliseconds d) {
    return d.count();
}

class param_table {
public:
    // Declares a parameter. A bad or duplicate name, a choice type without choices or min > max
    // is a programming error: throws std::logic_error. Defaults are validated by load_config.
    void add(param_spec spec);

    // The declaration of `name`, or nullptr when it is not declared.
    const param_spec* find(std::string_view name) const;

    // The declaration that `old_name` is a former name of (param_spec::old_names), or nullptr.
    const param_spec* renamed(std::string_view old_name) const;

    // All declarations, sorted by name.
    const std::map<std::string, param_spec, std::less<>>& specs() const { return specs_; }

private:
    std::map<std::string, param_spec, std::less<>> specs_;
    std::map<std::string, std::string, std::less<>> old_names_;  // old name -> current name
};

// Value parsers: nullopt when `text` is not valid for the type (bounds are not checked here).
std::optional<int64_t> parse_int(std::string_view text);
std::optional<bool> parse_bool(std::string_view text);
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
std::optional<uint64_t> parse_size(std::string_view text);  // at most INT64_MAX
std::optional<unsigned> parse_mode(std::string_view text);

// Shortest exact text for a duration or size: 300000ms -> "5m", 90000ms -> "90s", 250ms ->
// "250ms"; 1048576 -> "1m", 1000 -> "1000".
std::string format_duration(std::chrono::milliseconds d);
std::string format_size(uint64_t bytes);

// What a valid value of `spec` looks like, for error messages: "an integer from 1 to 256",
// "a duration like 300s", "one of: mail, daemon".
std::string expected_value(const param_spec& spec);

// The parsed form of a value that passed check_value.
struct param_value {
    std::string text;                // expanded value; canonical word for choice
    int64_t number = 0;              // integer, boolean (0/1), duration (ms), size, mode
    std::vector<std::string> items;  // list
};

// Parses and range-checks an (already expanded) value. nullopt when it is not valid.
std::optional<param_value> check_value(const param_spec& spec, std::string_view text);

}  // namespace vhostmail::config
