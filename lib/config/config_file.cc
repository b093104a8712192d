// SPDX-License-Identifier: Apache-2.0
#include "lib/config/config_file.hh"

#include <algorithm>

#include "lib/core/strings.hh"

namespace vhostmail::config {

namespace {

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::string location(std::string_view file, int line) {
    std::string out(file);
    out += ':';
    out += std::to_string(line);
    out += ": ";
    return out;
}

// A logical line being assembled from its physical lines.
struct logical_line {
    int line = 0;
    std::string text;
    bool poisoned = false;  // an error was already reported for it; drop it
};

void finish(const logical_line& l, std::string_view file, parsed_config& out) {
    if (l.poisoned) {
        return;
    }
    auto eq = l.text.find('=');
    if (eq == std::string::npos) {
        out.errors.push_back(location(file, l.line) + "missing \"=\" after parameter name: \"" +
                             safe_excerpt(l.text) + "\"");
        return;
    }
    auto name = trim(std::string_view(l.text).substr(0, eq));
    if (name.empty()) {
        out.errors.push_back(location(file, l.line) + "missing parameter name before \"=\"");
        return;
    }
    if (!valid_param_name(name)) {
        out.errors.push_back(location(file, l.line) + "bad parameter name \"" + safe_excerpt(name) +
                             "\"");
        return;
    }
    auto value = trim(std::string_view(l.text).substr(eq + 1));
    out.entries.push_back({std::string(name), std::string(value), std::string(file), l.line});
}

// Expands one value; see expand_value. References are counted so that values that expand to
// nothing cannot make the work grow exponentially ("a = $b$b", "b = $c$c", ...).
class expander {
public:
    expander(const raw_value_fn& lookup, size_t max_size) : lookup_(lookup), max_size_(max_size) {}

    bool expand_name(std::string_view name, std::string& out) {
        if (std::find(stack_.begin(), stack_.end(), name) != stack_.end()) {
            std::string path;
            for (const auto& n : stack_) {
                path += n + " -> ";
            }
            return fail("loop: " + path + std::string(name));
        }
        if (stack_.size() >= max_expansion_depth) {
            return fail("nesting deeper than " + std::to_string(max_expansion_depth) + " levels");
        }
        if (++references_ > max_expansion_references) {
            return fail("more than " + std::to_string(max_expansion_references) +
                        " parameter references");
        }
        auto raw = lookup_(name);
        if (!raw) {
            return fail("undefined parameter \"" + std::string(name) + "\"");
        }
        return expand_root(name, *raw, out);
    }

    // Expands `raw`, the value of `name`, into `out`.
    bool expand_root(std::string_view name, std::string_view raw, std::string& out) {
        stack_.emplace_back(name);
        bool ok = expand_text(raw, out);
        stack_.pop_back();
        return ok;
    }

    std::string take_error() { return std::move(error_); }

private:
    bool fail(std::string why) {
        error_ = std::move(why);
        return false;
    }

    bool append(std::string& out, std::string_view text) {
        if (text.size() > max_size_ || out.size() > max_size_ - text.size()) {
            return fail("value longer than " + std::to_string(max_size_) +
                        " bytes after expansion");
        }
        out += text;
        return true;
    }

    bool expand_text(std::string_view raw, std::string& out) {
        size_t i = 0;
        while (i < raw.size()) {
            auto dollar = raw.find('$', i);
            if (!append(out,
                        raw.substr(i, dollar == std::string_view::npos ? raw.npos : dollar - i))) {
                return false;
            }
            if (dollar == std::string_view::npos) {
                return true;
            }
            i = dollar + 1;
            if (i == raw.size()) {
                return fail("\"$\" at the end of the value (write \"$$\" for a literal \"$\")");
            }
            std::string_view name;
            if (raw[i] == '$') {
                if (!append(out, "$")) {
                    return false;
                }
                ++i;
                continue;
            }
            if (raw[i] == '{' || raw[i] == '(') {
                char close = raw[i] == '{' ? '}' : ')';
                auto end = raw.find(close, i + 1);
                if (end == std::string_view::npos) {
                    return fail(std::string("missing \"") + close + "\" after \"$" + raw[i] + "\"");
                }
                name = raw.substr(i + 1, end - i - 1);
                if (!valid_param_name(name)) {
                    return fail("bad parameter name \"" + safe_excerpt(name) + "\" after \"$\"");
                }
                i = end + 1;
            } else {
                auto end = i;
                while (end < raw.size() && is_name_char(raw[end])) {
                    ++end;
                }
                if (end == i) {
                    return fail(
                        "\"$\" must be followed by a parameter name, \"{name}\", \"(name)\" or "
                        "\"$\"");
                }
                name = raw.substr(i, end - i);
                i = end;
            }
            if (!expand_name(name, out)) {
                return false;
            }
        }
        return true;
    }

    const raw_value_fn& lookup_;
    size_t max_size_;
    std::vector<std::string> stack_;
    size_t references_ = 0;
    std::string error_;
};

}  // namespace

bool valid_param_name(std::string_view name) {
    return !name.empty() && std::all_of(name.begin(), name.end(), is_name_char);
}

std::string safe_excerpt(std::string_view text, size_t max) {
    const std::string_view ellipsis = "...";
    bool cut = text.size() > max;
    if (cut) {
        text = text.substr(0, max > ellipsis.size() ? max - ellipsis.size() : 0);
    }
    std::string out = printable(text);
    if (cut) {
        out += ellipsis;
    }
    return out;
}

parsed_config parse_config(std::string_view text, std::string_view file_name) {
    parsed_config out;
    std::optional<logical_line> current;
    int line_no = 0;
    size_t pos = 0;
    while (pos < text.size()) {
        auto nl = text.find('\n', pos);
        auto line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        ++line_no;
        bool continuation = !line.empty() && is_blank(line.front());
        auto content = trim(line);
        if (content.find('\0') != std::string_view::npos) {
            out.errors.push_back(location(file_name, line_no) + "NUL byte in line");
            if (!continuation) {
                if (current) {
                    finish(*current, file_name, out);
                }
                current = logical_line{line_no, {}, true};
            } else if (current) {
                current->poisoned = true;
            }
            continue;
        }
        if (content.empty() || content.front() == '#') {
            continue;  // Postfix skips these even inside a continued logical line
        }
        if (continuation) {
            if (!current) {
                out.errors.push_back(location(file_name, line_no) +
                                     "logical line must not start with whitespace: \"" +
                                     safe_excerpt(content) + "\"");
                current = logical_line{line_no, {}, true};  // drop its continuation lines too
                continue;
            }
            current->text += ' ';
            current->text += content;
            continue;
        }
        if (current) {
            finish(*current, file_name, out);
        }
        current = logical_line{line_no, std::string(content), false};
    }
    if (current) {
        finish(*current, file_name, out);
    }
    return out;
}

expansion expand_value(std::string_view name, std::string_view raw, const raw_value_fn& lookup,
                       size_t max_size) {
    expander e(lookup, max_size);
    expansion out;
    if (!e.expand_root(name, raw, out.value)) {
        out.value.clear();
        out.error = e.take_error();
    }
    return out;
}

}  // namespace vhostmail::config
