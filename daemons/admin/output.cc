// SPDX-License-Identifier: Apache-2.0
// output.cc - aligned text for people, JSON for scripts.
#include <algorithm>
#include <cstdio>

#include "daemons/admin/admin.hh"
#include "lib/core/strings.hh"

namespace vhostmail::admin {

std::string json_string(std::string_view s) {
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    char buf[8];
                    std::snprintf(buf, sizeof(buf), "\\u%04x", c);
                    out += buf;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    return out + "\"";
}

void print_fields(const context& ctx, const vhost::fields& f) {
    if (ctx.json()) {
        std::string out = "{";
        for (size_t i = 0; i < f.size(); ++i) {
            out += (i ? ", " : "") + json_string(f[i].first) + ": " + json_string(f[i].second);
        }
        std::puts((out + "}").c_str());
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
        std::puts("[");
        for (size_t r = 0; r < t.rows.size(); ++r) {
            std::string line = "  {";
            for (size_t c = 0; c < t.columns.size(); ++c) {
                line += (c ? ", " : "") + json_string(t.columns[c]) + ": " +
                        json_string(t.rows[r][c]);
            }
            line += r + 1 < t.rows.size() ? "}," : "}";
            std::puts(line.c_str());
        }
        std::puts("]");
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
        std::puts(("{\"ok\": true, \"done\": " + json_string(what) + "}").c_str());
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
