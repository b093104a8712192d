// SPDX-License-Identifier: Apache-2.0
#include "lib/config/config.hh"

#include <array>
#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <stdexcept>
#include <system_error>
#include <unistd.h>
#include <utility>

#include "lib/config/config_file.hh"
#include "lib/core/strings.hh"
#include "lib/core/unique_fd.hh"

namespace vhostmail::config {

namespace {

const char* type_name(param_type t) {
    switch (t) {
        case param_type::string:
            return "string";
        case param_type::integer:
            return "integer";
        case param_type::boolean:
            return "boolean";
        case param_type::duration:
            return "duration";
        case param_type::size:
            return "size";
        case param_type::list:
            return "list";
        case param_type::mode:
            return "mode";
        case param_type::choice:
            return "choice";
    }
    return "?";
}

std::string errno_text(int err) {
    return std::error_code(err, std::generic_category()).message();
}

// The whole file, or nullopt after adding an error. Size is bounded so a wrong path (a device, a
// huge log) fails cleanly instead of eating memory.
std::optional<std::string> read_file(const std::string& path, std::vector<std::string>& errors) {
    unique_fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!fd) {
        errors.push_back(path + ": cannot open: " + errno_text(errno));
        return std::nullopt;
    }
    std::string text;
    std::array<char, 8192> buf{};
    for (;;) {
        auto n = ::read(fd.get(), buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            errors.push_back(path + ": cannot read: " + errno_text(errno));
            return std::nullopt;
        }
        if (n == 0) {
            return text;
        }
        if (text.size() + static_cast<size_t>(n) > max_config_file_size) {
            errors.push_back(path + ": file is larger than " +
                             std::to_string(max_config_file_size) + " bytes");
            return std::nullopt;
        }
        text.append(buf.data(), static_cast<size_t>(n));
    }
}

std::string location(const config_entry& e) {
    if (e.line > 0) {
        return e.file + ":" + std::to_string(e.line);
    }
    return e.file;
}

// "-o name=value" arguments as entries whose location is the argument itself.
void add_overrides(const std::vector<std::string>& overrides, std::vector<config_entry>& entries,
                   std::vector<std::string>& errors) {
    for (const auto& o : overrides) {
        std::string where = "-o " + safe_excerpt(o, 200);
        auto eq = o.find('=');
        if (eq == std::string::npos) {
            errors.push_back(where + ": missing \"=\" (expected -o name=value)");
            continue;
        }
        auto name = trim(std::string_view(o).substr(0, eq));
        if (!valid_param_name(name)) {
            errors.push_back(where + ": bad parameter name \"" + safe_excerpt(name) + "\"");
            continue;
        }
        entries.push_back(
            {std::string(name), std::string(trim(std::string_view(o).substr(eq + 1))), where, 0});
    }
}

bool is_foreign(std::string_view name, const std::vector<std::string>& prefixes) {
    for (const auto& p : prefixes) {
        if (!p.empty() && name.substr(0, p.size()) == p) {
            return true;
        }
    }
    return false;
}

}  // namespace

load_result load_config(const param_table& table, const load_options& options) {
    load_result out;
    std::vector<config_entry> entries;
    if (!options.file.empty()) {
        if (auto text = read_file(options.file, out.errors)) {
            auto parsed = parse_config(*text, options.file);
            entries = std::move(parsed.entries);
            out.errors.insert(out.errors.end(), parsed.errors.begin(), parsed.errors.end());
        }
    }
    add_overrides(options.overrides, entries, out.errors);

    // Last setting wins, overrides after the file. Foreign settings stay visible to $name.
    std::map<std::string, const config_entry*, std::less<>> settings, by_old_name;
    for (const auto& e : entries) {
        if (const auto* spec = table.renamed(e.name)) {  // never a declared name (add() checks)
            out.warnings.push_back(location(e) + ": \"" + e.name + "\" is deprecated; use \"" +
                                   spec->name + "\"");
            by_old_name[spec->name] = &e;
        } else if (table.find(e.name) == nullptr && !is_foreign(e.name, options.foreign_prefixes)) {
            out.errors.push_back(location(e) + ": unknown parameter \"" + e.name + "\"");
        }
        settings[e.name] = &e;
    }
    for (const auto& [name, e] : by_old_name) {
        settings.try_emplace(name, e);  // the new name, where set, wins
    }
    raw_value_fn lookup = [&](std::string_view name) -> std::optional<std::string> {
        if (auto it = settings.find(name); it != settings.end()) {
            return it->second->value;
        }
        if (const auto* spec = table.find(name)) {
            return spec->default_value;
        }
        return std::nullopt;
    };

    auto cfg = std::shared_ptr<config>(new config());
    for (const auto& [name, spec] : table.specs()) {
        auto it = settings.find(name);
        bool set = it != settings.end();
        std::string raw = set ? it->second->value : spec.default_value;
        std::string where = set ? location(*it->second) : "(default)";
        if (spec.secret && set && it->second->line == 0) {
            where = "-o " + name + "=<hidden>";  // keep passwords out of the log
        }
        auto expanded = expand_value(name, raw, lookup);
        if (!expanded.ok()) {
            out.errors.push_back(where + ": cannot expand \"" + name + "\": " + expanded.error);
            continue;
        }
        auto value = check_value(spec, expanded.value);
        if (!value) {
            out.errors.push_back(where + ": bad value for \"" + name + "\": \"" +
                                 (spec.secret ? "<hidden>" : safe_excerpt(expanded.value)) +
                                 "\" (expected " + expected_value(spec) + ")");
            continue;
        }
        cfg->entries_.emplace(name, config::entry{spec, std::move(raw), set, std::move(*value)});
    }
    if (out.errors.empty()) {
        out.cfg = std::move(cfg);
    }
    return out;
}

const config::entry& config::at(std::string_view name) const {
    auto it = entries_.find(name);
    if (it == entries_.end()) {
        throw std::logic_error("undeclared parameter \"" + std::string(name) + "\"");
    }
    return it->second;
}

const config::entry& config::at(std::string_view name, param_type type) const {
    const auto& e = at(name);
    if (e.spec.type != type) {
        throw std::logic_error("parameter \"" + std::string(name) + "\" is a " +
                               type_name(e.spec.type) + ", not a " + type_name(type));
    }
    return e;
}

std::string config::get_string(std::string_view name) const {
    const auto& e = at(name);
    if (e.spec.type != param_type::choice) {
        return at(name, param_type::string).value.text;
    }
    return e.value.text;
}

int64_t config::get_int(std::string_view name) const {
    return at(name, param_type::integer).value.number;
}

bool config::get_bool(std::string_view name) const {
    return at(name, param_type::boolean).value.number != 0;
}

std::chrono::milliseconds config::get_duration(std::string_view name) const {
    return std::chrono::milliseconds(at(name, param_type::duration).value.number);
}

uint64_t config::get_size(std::string_view name) const {
    return static_cast<uint64_t>(at(name, param_type::size).value.number);
}

std::vector<std::string> config::get_list(std::string_view name) const {
    return at(name, param_type::list).value.items;
}

unsigned config::get_mode(std::string_view name) const {
    return static_cast<unsigned>(at(name, param_type::mode).value.number);
}

bool config::is_set(std::string_view name) const {
    return at(name).set;
}

std::string config::dump(bool non_default_only) const {
    std::string out;
    for (const auto& [name, e] : entries_) {
        if (non_default_only && !e.set) {
            continue;
        }
        out += name;
        out += " =";
        if (!e.raw.empty()) {
            out += ' ';
            out += e.spec.secret ? std::string("<hidden>") : e.raw;
        }
        out += '\n';
    }
    return out;
}

}  // namespace vhostmail::config
