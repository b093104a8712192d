// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/aliases_file.hh"

#include "lib/core/strings.hh"

namespace vhostmail::proto {

namespace {

constexpr size_t max_values = 1000;
constexpr size_t max_value_length = 320;

struct logical_line {
    std::string text;
    unsigned line = 0;
};

// Joins continuation lines (starting with a blank) and drops comments and blank lines.
std::vector<logical_line> logical_lines(std::string_view text) {
    std::vector<logical_line> out;
    unsigned number = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        size_t end = text.find('\n', pos);
        std::string_view raw = text.substr(pos, end == std::string_view::npos ? end : end - pos);
        pos = end == std::string_view::npos ? text.size() : end + 1;
        ++number;
        if (!raw.empty() && raw.back() == '\r') {
            raw.remove_suffix(1);
        }
        std::string_view content = trim(raw);
        if (content.empty() || content.front() == '#') {
            continue;
        }
        if ((raw.front() == ' ' || raw.front() == '\t') && !out.empty()) {
            out.back().text += ' ';
            out.back().text += content;
        } else {
            out.push_back({std::string(content), number});
        }
    }
    return out;
}

std::string where(unsigned line) { return "line " + std::to_string(line) + ": "; }

}  // namespace

alias_file parse_alias_file(std::string_view text, alias_format format) {
    alias_file result;
    if (text.size() > alias_file_max_size) {
        result.errors.push_back("file larger than 1 MiB");
        return result;
    }
    for (const auto& l : logical_lines(text)) {
        std::string_view rest = l.text;
        size_t split = format == alias_format::aliases ? rest.find(':')
                                                      : rest.find_first_of(" \t");
        if (split == std::string_view::npos || split == 0) {
            result.errors.push_back(where(l.line) + (format == alias_format::aliases
                                                         ? "expected \"name: value, ...\""
                                                         : "expected \"pattern value, ...\""));
            continue;
        }
        alias_entry e;
        e.key = ascii_lower(trim(rest.substr(0, split)));
        if (e.key.front() == '"' || printable(e.key) != e.key) {
            result.errors.push_back(where(l.line) + "quoted or unprintable names are not supported");
            continue;
        }
        e.line = l.line;
        bool ok = true;
        for (const auto& value : split_list(rest.substr(split + 1), ", \t")) {
            if (value.front() == '|' || value.front() == '/' || value.starts_with(":include:") ||
                value.front() == '"') {
                result.errors.push_back(where(l.line) + "\"" + printable(value) +
                                        "\" is not an address (commands, files and includes"
                                        " cannot be imported)");
                ok = false;
            } else if (value.size() > max_value_length || printable(value) != value) {
                result.errors.push_back(where(l.line) + "value too long or unprintable");
                ok = false;
            } else {
                e.destinations.push_back(value);
            }
        }
        if (ok && e.destinations.empty()) {
            result.errors.push_back(where(l.line) + "no value for " + printable(e.key));
            ok = false;
        }
        if (ok && e.destinations.size() > max_values) {
            result.errors.push_back(where(l.line) + "more than 1000 values");
            ok = false;
        }
        if (ok) {
            result.entries.push_back(std::move(e));
        }
    }
    return result;
}

}  // namespace vhostmail::proto
