// SPDX-License-Identifier: Apache-2.0
// migrate.cc - the script splitter and the schema_version bookkeeping.
#include "lib/db/migrate.hh"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <system_error>
#include <thread>

#include "lib/core/strings.hh"

namespace vhostmail::db {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view blanks = " \t\r\n\f\v";
constexpr std::string_view lock_name = "vhostmail_migrate";
constexpr auto lock_wait = std::chrono::seconds(30);
constexpr auto lock_poll = std::chrono::milliseconds(200);

constexpr std::string_view create_schema_version =
    "CREATE TABLE IF NOT EXISTS schema_version (\n"
    "    version     INT UNSIGNED NOT NULL PRIMARY KEY,\n"
    "    name        VARCHAR(255) NOT NULL,\n"
    "    applied_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
    ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci";

bool is_blank(char c) {
    return blanks.find(c) != std::string_view::npos;
}

bool all_blank(std::string_view s) {
    return s.find_first_not_of(blanks) == std::string_view::npos;
}

void push_statement(std::vector<std::string>& out, std::string& cur) {
    std::string_view t = cur;
    size_t first = t.find_first_not_of(blanks);
    if (first != std::string_view::npos) {
        size_t last = t.find_last_not_of(blanks);
        out.emplace_back(t.substr(first, last - first + 1));
    }
    cur.clear();
}

// At a line start with nothing pending: "DELIMITER xx". Returns the position after the line, or
// npos when the line is not a DELIMITER command.
size_t delimiter_command(std::string_view text, size_t i, std::string& delimiter) {
    constexpr std::string_view keyword = "delimiter";
    size_t j = i;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\t')) {
        ++j;
    }
    if (!iequals(text.substr(j, keyword.size()), keyword)) {
        return std::string_view::npos;
    }
    j += keyword.size();
    if (j < text.size() && !is_blank(text[j])) {
        return std::string_view::npos;  // e.g. an identifier "delimiters"
    }
    size_t eol = text.find('\n', j);
    size_t end = eol == std::string_view::npos ? text.size() : eol;
    std::string_view arg = text.substr(j, end - j);
    size_t a = arg.find_first_not_of(blanks);
    if (a != std::string_view::npos) {
        size_t b = arg.find_first_of(blanks, a);
        delimiter = std::string(arg.substr(a, b == std::string_view::npos ? b : b - a));
    }
    return eol == std::string_view::npos ? text.size() : eol + 1;
}

// Copies a quoted string or identifier starting at text[i]; returns the position after it.
size_t quoted_end(std::string_view text, size_t i) {
    const char q = text[i];
    size_t j = i + 1;
    while (j < text.size()) {
        if (text[j] == '\\' && q != '`') {
            j += 2;
            continue;
        }
        if (text[j] == q) {
            if (j + 1 < text.size() && text[j + 1] == q) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        ++j;
    }
    return text.size();
}

bool line_comment_at(std::string_view text, size_t i) {
    if (text[i] == '#') {
        return true;
    }
    // "--" starts a comment only when followed by a blank or control character, or the end.
    return text[i] == '-' && i + 1 < text.size() && text[i + 1] == '-' &&
           (i + 2 == text.size() || static_cast<unsigned char>(text[i + 2]) <= ' ');
}

db::error migration_error(std::string message) {
    return make_error(local_error::migration, "", std::move(message));
}

// "NNNN_name.sql" -> {NNNN, "name", path}; nullopt for any other file name.
std::optional<migration_file> parse_file_name(const fs::path& path) {
    const std::string file = path.filename().string();
    constexpr std::string_view suffix = ".sql";
    if (!file.ends_with(suffix)) {
        return std::nullopt;
    }
    std::string_view stem = std::string_view(file).substr(0, file.size() - suffix.size());
    size_t underscore = stem.find('_');
    if (underscore == 0 || underscore == std::string_view::npos || underscore + 1 == stem.size()) {
        return std::nullopt;
    }
    unsigned version = 0;
    auto [ptr, ec] = std::from_chars(stem.data(), stem.data() + underscore, version);
    if (ec != std::errc() || ptr != stem.data() + underscore) {
        return std::nullopt;
    }
    return migration_file{version, std::string(stem.substr(underscore + 1)), path};
}

outcome<std::string> read_file(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    if (!in || !(text << in.rdbuf())) {
        return migration_error("cannot read " + path.string());
    }
    return text.str();
}

// Applied versions: version -> (name, applied_at). A missing table is "nothing applied".
outcome<std::map<unsigned, migration_state>> read_applied(connection& conn) {
    auto r = conn.query(
        "SELECT version, name, DATE_FORMAT(applied_at, '%Y-%m-%d %H:%i:%s') "
        "FROM schema_version ORDER BY version");
    std::map<unsigned, migration_state> applied;
    if (!r) {
        constexpr unsigned er_no_such_table = 1146;
        if (r.error().code == er_no_such_table) {
            return applied;
        }
        return r.error();
    }
    for (const row& rw : r->rows) {
        migration_state st;
        st.version = static_cast<unsigned>(rw.u64(0));
        st.name = rw.str(1);
        st.applied = true;
        st.applied_at = rw.str(2);
        applied[st.version] = std::move(st);
    }
    return applied;
}

// GET_LOCK(name, 30) as a poll of GET_LOCK(name, 0): a server-side wait longer than the read
// timeout would look like a dead server (2013) to the client.
outcome<void> take_lock(connection& conn) {
    const auto deadline = std::chrono::steady_clock::now() + lock_wait;
    for (;;) {
        auto r = conn.query("SELECT GET_LOCK(?, 0)", {std::string(lock_name)});
        if (!r) {
            return r.error();
        }
        if (!r->rows.empty() && r->rows[0].i64(0) == 1) {
            return {};
        }
        if (std::chrono::steady_clock::now() >= deadline) {
            return make_error(local_error::lock_timeout, "",
                              "another migration holds the lock vhostmail_migrate (waited 30 s)");
        }
        std::this_thread::sleep_for(lock_poll);
    }
}

outcome<migrate_report> migrate_locked(connection& conn, const std::vector<migration_file>& files) {
    if (auto created = conn.execute_script(create_schema_version); !created) {
        return created.error();
    }
    auto applied = read_applied(conn);
    if (!applied) {
        return applied.error();
    }
    migrate_report report;
    report.schema_version = applied->empty() ? 0 : applied->rbegin()->first;
    if (report.schema_version > files.back().version) {
        return migration_error("database schema version " + std::to_string(report.schema_version) +
                               " is newer than the newest migration file (" +
                               std::to_string(files.back().version) +
                               "): this software is older than the database");
    }
    for (const migration_file& f : files) {
        if (applied->count(f.version) != 0) {
            continue;
        }
        auto text = read_file(f.path);
        if (!text) {
            return text.error();
        }
        if (auto r = conn.execute_script(*text); !r) {
            db::error e = r.error();
            e.message = f.path.filename().string() + ": " + e.message;
            return e;
        }
        auto rec = conn.query("INSERT INTO schema_version (version, name) VALUES (?, ?)",
                              {uint64_t{f.version}, f.name});
        if (!rec) {
            return rec.error();
        }
        report.applied.push_back(f.version);
        report.schema_version = std::max(report.schema_version, f.version);
    }
    return report;
}

}  // namespace

std::vector<std::string> split_sql_script(std::string_view text) {
    std::vector<std::string> out;
    std::string cur;
    std::string delimiter = ";";
    bool line_start = true;
    size_t i = 0;
    while (i < text.size()) {
        if (line_start && all_blank(cur)) {
            size_t next = delimiter_command(text, i, delimiter);
            if (next != std::string_view::npos) {
                cur.clear();
                i = next;
                continue;
            }
        }
        const char c = text[i];
        if (text.compare(i, delimiter.size(), delimiter) == 0) {
            push_statement(out, cur);
            i += delimiter.size();
            line_start = false;
        } else if (c == '\'' || c == '"' || c == '`') {
            size_t end = quoted_end(text, i);
            cur.append(text.substr(i, end - i));
            i = end;
            line_start = false;
        } else if (line_comment_at(text, i)) {
            size_t eol = text.find('\n', i);
            i = eol == std::string_view::npos ? text.size() : eol;  // keep the newline
        } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
            size_t close = text.find("*/", i + 2);
            size_t end = close == std::string_view::npos ? text.size() : close + 2;
            std::string_view body = text.substr(i + 2);
            if (body.starts_with("!") || body.starts_with("M!")) {
                cur.append(text.substr(i, end - i));  // versioned code, not a comment
            } else {
                cur += ' ';  // "SELECT/**/1" must stay two tokens
            }
            i = end;
            line_start = false;
        } else {
            cur += c;
            line_start = c == '\n';
            ++i;
        }
    }
    push_statement(out, cur);
    return out;
}

outcome<std::vector<migration_file>> list_migrations(const fs::path& dir) {
    std::error_code ec;
    std::vector<migration_file> files;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
        if (!it->is_regular_file(ec)) {
            continue;
        }
        if (auto f = parse_file_name(it->path())) {
            files.push_back(std::move(*f));
        }
    }
    if (ec) {
        return migration_error("cannot list " + dir.string() + ": " + ec.message());
    }
    std::sort(files.begin(), files.end(), [](const migration_file& a, const migration_file& b) {
        return a.version < b.version;
    });
    for (size_t i = 1; i < files.size(); ++i) {
        if (files[i].version == files[i - 1].version) {
            return migration_error(
                "two migration files with version " + std::to_string(files[i].version) + ": " +
                files[i - 1].path.filename().string() + ", " + files[i].path.filename().string());
        }
    }
    return files;
}

outcome<migrate_report> migrate(connection& conn, const fs::path& migrations_dir) {
    auto files = list_migrations(migrations_dir);
    if (!files) {
        return files.error();
    }
    if (files->empty()) {
        return migration_error("no NNNN_name.sql files in " + migrations_dir.string());
    }
    if (auto locked = take_lock(conn); !locked) {
        return locked.error();
    }
    auto report = migrate_locked(conn, *files);
    if (!conn.broken()) {
        // Errors here are harmless: the server drops the lock with the session anyway.
        (void)conn.query("SELECT RELEASE_LOCK(?)", {std::string(lock_name)});
    }
    return report;
}

outcome<std::vector<migration_state>> schema_status(connection& conn,
                                                    const fs::path& migrations_dir) {
    auto files = list_migrations(migrations_dir);
    if (!files) {
        return files.error();
    }
    auto applied = read_applied(conn);
    if (!applied) {
        return applied.error();
    }
    std::map<unsigned, migration_state> all = std::move(*applied);
    for (const migration_file& f : *files) {
        migration_state& st = all[f.version];
        st.version = f.version;
        st.file_present = true;
        if (!st.applied) {
            st.name = f.name;
        }
    }
    std::vector<migration_state> out;
    out.reserve(all.size());
    for (auto& [version, st] : all) {
        out.push_back(std::move(st));
    }
    return out;
}

}  // namespace vhostmail::db
