// SPDX-License-Identifier: Apache-2.0
// config.hh - the loaded, validated configuration of one daemon: /etc/vhostmail/vhostmail.cf plus
// "-o name=value" overrides, checked against the daemon's param_table. Every value, defaults
// included, is expanded and validated at load time, so a bad setting stops the daemon at start.
// Errors read "file:line: message", "-o name=value: message" or "(default): message".
// Thread safety: a config is immutable after load; share it as std::shared_ptr<const config>.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/config/params.hh"

namespace vhostmail::config {

inline constexpr std::string_view default_config_file = "/etc/vhostmail/vhostmail.cf";
inline constexpr size_t max_config_file_size = 16 << 20;  // bytes

class config;

struct load_options {
    std::string file;                           // "" = no file, defaults and overrides only
    std::vector<std::string> overrides;         // "name=value" from -o; they win over the file
    std::vector<std::string> foreign_prefixes;  // other daemons' names: accepted and ignored
};

struct load_result {
    std::shared_ptr<const config> cfg;  // set exactly when errors is empty
    std::vector<std::string> errors;    // every problem found, not just the first
    std::vector<std::string> warnings;  // accepted but to be changed: deprecated names
};

// Reads and parses the file (the only I/O in lib/config), applies the overrides, and validates
// every declared parameter. A missing or unreadable file is an error. Names that are neither
// declared nor start with a foreign prefix are errors ("unknown parameter"); a former name
// (param_spec::old_names) sets its parameter unless the new name is set too, with a warning.
// Duplicates: the last setting wins. Reentrant.
load_result load_config(const param_table& table, const load_options& options);

class config {
public:
    // Typed getters. Asking for an undeclared name or with the wrong type is a programming
    // error: throws std::logic_error. get_string serves string and choice parameters.
    std::string get_string(std::string_view name) const;
    int64_t get_int(std::string_view name) const;
    bool get_bool(std::string_view name) const;
    std::chrono::milliseconds get_duration(std::string_view name) const;
    uint64_t get_size(std::string_view name) const;
    std::vector<std::string> get_list(std::string_view name) const;
    unsigned get_mode(std::string_view name) const;

    // Is `name` a parameter of this table (shared code asking about another daemon's)?
    bool declared(std::string_view name) const { return entries_.find(name) != entries_.end(); }

    // Was `name` set in the file or by -o (even to its default text)? Throws like the getters.
    bool is_set(std::string_view name) const;

    // "name = value" lines, sorted by name, with raw (unexpanded) values like postconf(1):
    // all declared parameters, or only those set in the file or by -o (postconf -n). Secret
    // parameters show "<hidden>" when not empty.
    std::string dump(bool non_default_only) const;

private:
    struct entry {
        param_spec spec;
        std::string raw;  // as written, or the default
        bool set = false;
        param_value value;
    };

    const entry& at(std::string_view name, param_type type) const;
    const entry& at(std::string_view name) const;

    std::map<std::string, entry, std::less<>> entries_;

    friend load_result load_config(const param_table& table, const load_options& options);
};

}  // namespace vhostmail::config
