// SPDX-License-Identifier: Apache-2.0
#include "daemons/admin/sql_dump.hh"

#include <cctype>

#include "lib/core/strings.hh"

namespace vhostmail::admin {

namespace {

class scanner {
public:
    explicit scanner(std::string_view t) : t_(t) {}

    bool done() {
        skip_space();
        return i_ >= t_.size();
    }

    void skip_space() {
        while (i_ < t_.size()) {
            char c = t_[i_];
            if (std::isspace(static_cast<unsigned char>(c))) {
                ++i_;
            } else if (t_.substr(i_, 2) == "--" || c == '#') {
                auto nl = t_.find('\n', i_);
                i_ = nl == std::string_view::npos ? t_.size() : nl + 1;
            } else if (t_.substr(i_, 2) == "/*") {
                auto end = t_.find("*/", i_ + 2);
                i_ = end == std::string_view::npos ? t_.size() : end + 2;
            } else {
                return;
            }
        }
    }

    // A bare word or a `quoted` identifier; "" when there is none.
    std::string word() {
        skip_space();
        if (i_ < t_.size() && t_[i_] == '`') {
            auto end = t_.find('`', i_ + 1);
            if (end == std::string_view::npos) {
                return "";
            }
            std::string w(t_.substr(i_ + 1, end - i_ - 1));
            i_ = end + 1;
            return w;
        }
        size_t start = i_;
        while (i_ < t_.size() &&
               (std::isalnum(static_cast<unsigned char>(t_[i_])) || t_[i_] == '_' ||
                t_[i_] == '.' || t_[i_] == '-' || t_[i_] == '+' || t_[i_] == '$')) {
            ++i_;
        }
        return std::string(t_.substr(start, i_ - start));
    }

    bool take(char c) {
        skip_space();
        if (i_ < t_.size() && t_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }

    // One value of a VALUES tuple.
    std::optional<std::optional<std::string>> value() {
        skip_space();
        if (i_ < t_.size() && t_[i_] == '_') {
            word();  // a character set introducer such as _binary or _utf8mb4
            skip_space();
        }
        if (i_ < t_.size() && (t_[i_] == '\'' || t_[i_] == '"')) {
            return quoted();
        }
        std::string w = word();
        if (w.empty()) {
            return std::nullopt;
        }
        if (ascii_lower(w) == "null") {
            return std::optional<std::string>();
        }
        return std::optional<std::string>(w);
    }

    // Skips to just after the ';' that ends the current statement (outside quotes).
    void skip_statement() {
        while (i_ < t_.size()) {
            char c = t_[i_];
            if (c == '\'' || c == '"') {
                if (!quoted()) {
                    return;
                }
            } else if (c == '`') {
                word();
            } else {
                ++i_;
                if (c == ';') {
                    return;
                }
            }
        }
    }

    void skip_char() {
        if (i_ < t_.size()) {
            ++i_;
        }
    }

    size_t pos() const { return i_; }

    std::string_view rest(size_t from, size_t to) const { return t_.substr(from, to - from); }

private:
    std::optional<std::string> quoted() {
        char q = t_[i_++];
        std::string out;
        while (i_ < t_.size()) {
            char c = t_[i_++];
            if (c == '\\' && i_ < t_.size()) {
                char e = t_[i_++];
                switch (e) {
                    case 'n':
                        out += '\n';
                        break;
                    case 'r':
                        out += '\r';
                        break;
                    case 't':
                        out += '\t';
                        break;
                    case '0':
                        out += '\0';
                        break;
                    case 'Z':
                        out += '\x1a';
                        break;
                    default:
                        out += e;
                }
            } else if (c == q) {
                if (i_ < t_.size() && t_[i_] == q) {
                    out += q;
                    ++i_;
                } else {
                    return out;
                }
            } else {
                out += c;
            }
        }
        return std::nullopt;  // unterminated
    }

    std::string_view t_;
    size_t i_ = 0;
};

bool is_key_word(const std::string& w) {
    std::string u = ascii_lower(w);
    return u == "primary" || u == "key" || u == "unique" || u == "index" || u == "constraint" ||
           u == "foreign" || u == "fulltext" || u == "check" || u == "spatial";
}

// CREATE TABLE [IF NOT EXISTS] name ( col type ..., KEY ... ) ...;
void create_table(scanner& s, dump_contents& out) {
    std::string name = s.word();
    if (ascii_lower(name) == "if") {
        s.word();
        s.word();
        name = s.word();
    }
    dump_table& t = out.tables[name];
    t.columns.clear();
    if (!s.take('(')) {
        s.skip_statement();
        return;
    }
    int depth = 1;
    bool at_item = true;
    while (depth > 0 && !s.done()) {
        if (at_item) {
            std::string w = s.word();
            if (!w.empty() && !is_key_word(w)) {
                t.columns.push_back(w);
            }
            at_item = false;
            continue;
        }
        if (s.take('(')) {
            ++depth;
        } else if (s.take(')')) {
            --depth;
        } else if (s.take(',')) {
            at_item = depth == 1;
        } else if (!s.value()) {
            s.skip_char();  // '=', '.' and other punctuation of column definitions
        }
    }
    s.skip_statement();
}

// INSERT [IGNORE] INTO name [(cols)] VALUES (...), (...);
bool insert(scanner& s, dump_contents& out) {
    std::string w = s.word();
    if (ascii_lower(w) == "ignore") {
        w = s.word();
    }
    if (ascii_lower(w) == "into") {
        w = s.word();
    }
    dump_table& t = out.tables[w];
    std::vector<std::string> columns = t.columns;
    if (s.take('(')) {
        columns.clear();
        do {
            columns.push_back(s.word());
        } while (s.take(','));
        if (!s.take(')')) {
            return false;
        }
    }
    if (ascii_lower(s.word()) != "values") {
        return false;
    }
    do {
        if (!s.take('(')) {
            return false;
        }
        std::vector<std::optional<std::string>> values;
        do {
            auto v = s.value();
            if (!v) {
                return false;
            }
            values.push_back(*v);
        } while (s.take(','));
        if (!s.take(')') || values.size() != columns.size()) {
            return false;
        }
        // Stored in CREATE TABLE order, so every row of a table has the same layout.
        if (t.columns.empty()) {
            t.columns = columns;
        }
        std::vector<std::optional<std::string>> row(t.columns.size());
        for (size_t i = 0; i < columns.size(); ++i) {
            for (size_t j = 0; j < t.columns.size(); ++j) {
                if (t.columns[j] == columns[i]) {
                    row[j] = values[i];
                }
            }
        }
        t.rows.push_back(std::move(row));
    } while (s.take(','));
    return s.take(';') || s.done();
}

}  // namespace

dump_contents parse_sql_dump(std::string_view text) {
    dump_contents out;
    scanner s(text);
    size_t statement = 0;
    while (!s.done()) {
        ++statement;
        size_t start = s.pos();
        std::string verb = ascii_lower(s.word());
        if (verb == "create" && ascii_lower(s.word()) == "table") {
            create_table(s, out);
        } else if (verb == "insert" || verb == "replace") {
            if (!insert(s, out)) {
                out.error = "statement " + std::to_string(statement) + " (" +
                            printable(s.rest(start, std::min(s.pos(), start + 60))) +
                            "...): cannot read this INSERT";
                return out;
            }
        } else {
            if (verb.empty() && s.pos() == start) {
                s.skip_statement();
                if (s.pos() == start) {
                    break;
                }
                continue;
            }
            s.skip_statement();
        }
    }
    return out;
}

}  // namespace vhostmail::admin
