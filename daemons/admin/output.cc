// SPDX-License-Identifier: Apache-2.0
// output.cc - aligned text for people, JSON for scripts.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "lib/core/strings.hh"

#include "daemons/admin/admin.hh"

namespace vhostmail::admin {

void print_json(const nlohmann::ordered_json& document) {
    // Bytes that are not UTF-8 (a name typed in Latin-1) become U+FFFD: the document stays
    // valid JSON whatever the database holds.
    std::puts(
        document.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace).c_str());
}

void print_fields(const context& ctx, const vhost::fields& f) {
    if (ctx.json()) {
        nlohmann::ordered_json object = nlohmann::ordered_json::object();
        for (const auto& [name, value] : f) {
            object[name] = value;
        }
        print_json(object);
        return;
    }
    size_t width = 0;
    for (const auto& [name, value] : f) {
        width = std::max(width, name.size());
    }
    for (const auto& [name, value] : f) {
        // Multi-line values (a vacation body) are indented under their name, each line made
        // printable on its own (the line breaks are the value's, not control characters).
        std::string shown;
        size_t start = 0;
        while (true) {
            size_t end = value.find('\n', start);
            shown += printable(std::string_view(value).substr(start, end - start));
            if (end == std::string::npos) {
                break;
            }
            shown += "\n" + std::string(width + 2, ' ');
            start = end + 1;
        }
        std::printf("%-*s  %s\n", static_cast<int>(width), name.c_str(), shown.c_str());
    }
}

void print_table(const context& ctx, const vhost::table& t) {
    if (ctx.json()) {
        nlohmann::ordered_json rows = nlohmann::ordered_json::array();
        for (const auto& row : t.rows) {
            nlohmann::ordered_json object = nlohmann::ordered_json::object();
            for (size_t c = 0; c < t.columns.size(); ++c) {
                object[t.columns[c]] = row[c];
            }
            rows.push_back(std::move(object));
        }
        print_json(rows);
        return;
    }
    std::vector<size_t> width(t.columns.size());
    for (size_t c = 0; c < t.columns.size(); ++c) {
        width[c] = t.columns[c].size();
        for (const auto& row : t.rows) {
            width[c] = std::max(width[c], row[c].size());
        }
    }
    auto print_row = [&](const std::vector<std::string>& cells) {
        std::string line;
        for (size_t c = 0; c < cells.size(); ++c) {
            std::string cell = printable(cells[c]);
            line += cell;
            if (c + 1 < cells.size()) {
                line += std::string(width[c] - cells[c].size() + 2, ' ');
            }
        }
        std::puts(line.c_str());
    };
    print_row(t.columns);
    for (const auto& row : t.rows) {
        print_row(row);
    }
}

int print_done(const context& ctx, const std::string& what) {
    if (ctx.json()) {
        print_json({{"ok", true}, {"done", what}});
    } else {
        std::puts(what.c_str());
    }
    return exit_ok;
}

std::string settings_help(const std::vector<std::pair<std::string, std::string>>& help) {
    size_t width = 0;
    for (const auto& [name, text] : help) {
        width = std::max(width, name.size());
    }
    std::string out = "settings (name=value):\n";
    for (const auto& [name, text] : help) {
        out += "  " + name + std::string(width - name.size() + 2, ' ') + text + "\n";
    }
    return out;
}

}  // namespace vhostmail::admin
