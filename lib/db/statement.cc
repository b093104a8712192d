// SPDX-License-Identifier: Apache-2.0
// statement.cc - binding parameters, executing and fetching text columns of any length.
#include "lib/db/statement.hh"

#include <algorithm>
#include <charconv>
#include <type_traits>

#include <mysql.h>

namespace vhostmail::db {

namespace {

// Columns up to this size are fetched in one pass; longer ones are re-read with
// mysql_stmt_fetch_column into a buffer of their exact length.
constexpr unsigned long inline_column_size = 256;

// The text rules of row and row_view, in one place.
template <typename T>
std::optional<T> parse_number(std::optional<std::string_view> v) {
    if (!v) {
        return std::nullopt;
    }
    const char* first = v->data();
    const char* last = v->data() + v->size();
    if (first != last && *first == '+') {
        ++first;
    }
    T out{};
    auto [ptr, ec] = std::from_chars(first, last, out);
    if (ec != std::errc() || ptr != last || first == last) {
        return std::nullopt;
    }
    return out;
}

// SQL truth of a text: NULL, "" and numeric zero are false, anything else true.
bool sql_truth(std::optional<std::string_view> v) {
    if (!v || v->empty()) {
        return false;
    }
    if (v->size() == 1 && (*v)[0] >= '0' && (*v)[0] <= '9') {
        return (*v)[0] != '0';  // BOOLEAN columns: the common case, without a float parse
    }
    double d = 0;
    auto [ptr, ec] = std::from_chars(v->data(), v->data() + v->size(), d);
    if (ec == std::errc() && ptr == v->data() + v->size()) {
        return d != 0;
    }
    return true;
}

std::optional<std::string_view> view_of(const value& v) {
    return v ? std::optional<std::string_view>(*v) : std::nullopt;
}

// Fills one MYSQL_BIND for a parameter. `length` must outlive the execute call.
void bind_param(MYSQL_BIND& b, const param& p, unsigned long& length) {
    b = MYSQL_BIND{};
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
                b.buffer_type = MYSQL_TYPE_NULL;
            } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, uint64_t>) {
                b.buffer_type = MYSQL_TYPE_LONGLONG;
                b.buffer = const_cast<T*>(&v);  // the client library only reads it
                b.is_unsigned = std::is_same_v<T, uint64_t>;
            } else if constexpr (std::is_same_v<T, double>) {
                b.buffer_type = MYSQL_TYPE_DOUBLE;
                b.buffer = const_cast<double*>(&v);
            } else {
                length = v.size();
                b.buffer_type = MYSQL_TYPE_STRING;
                b.buffer = const_cast<char*>(v.data());
                b.buffer_length = length;
                b.length = &length;
            }
        },
        p);
}

}  // namespace

std::string row::str(size_t i, std::string_view dflt) const {
    const value& v = at(i);
    return v ? *v : std::string(dflt);
}

std::optional<int64_t> row::opt_i64(size_t i) const {
    return parse_number<int64_t>(view_of(at(i)));
}

std::optional<uint64_t> row::opt_u64(size_t i) const {
    return parse_number<uint64_t>(view_of(at(i)));
}

int64_t row::i64(size_t i, int64_t dflt) const {
    return opt_i64(i).value_or(dflt);
}

uint64_t row::u64(size_t i, uint64_t dflt) const {
    return opt_u64(i).value_or(dflt);
}

bool row::boolean(size_t i) const {
    return sql_truth(view_of(at(i)));
}

std::optional<std::string_view> row_view::at(size_t i) const {
    const column& c = columns_.at(i);
    if (!c.present) {
        return std::nullopt;
    }
    if (c.integer_kind == 0) {
        return c.text;
    }
    if (c.digits_size == 0) {
        auto done = c.integer_kind == 'u'
                        ? std::to_chars(c.digits, c.digits + sizeof(c.digits),
                                        static_cast<uint64_t>(c.integer))
                        : std::to_chars(c.digits, c.digits + sizeof(c.digits), c.integer);
        c.digits_size = static_cast<uint8_t>(done.ptr - c.digits);
    }
    return std::string_view(c.digits, c.digits_size);
}

std::string row_view::str(size_t i, std::string_view dflt) const {
    return std::string(at(i).value_or(dflt));
}

std::optional<int64_t> row_view::opt_i64(size_t i) const {
    const column& c = columns_.at(i);
    if (c.present && c.integer_kind == 's') {
        return c.integer;
    }
    if (c.present && c.integer_kind == 'u') {
        return c.integer >= 0 ? std::optional(c.integer) : std::nullopt;  // above INT64_MAX
    }
    return parse_number<int64_t>(at(i));
}

std::optional<uint64_t> row_view::opt_u64(size_t i) const {
    const column& c = columns_.at(i);
    if (c.present && c.integer_kind == 'u') {
        return static_cast<uint64_t>(c.integer);
    }
    if (c.present && c.integer_kind == 's') {
        return c.integer >= 0 ? std::optional(static_cast<uint64_t>(c.integer)) : std::nullopt;
    }
    return parse_number<uint64_t>(at(i));
}

int64_t row_view::i64(size_t i, int64_t dflt) const {
    return opt_i64(i).value_or(dflt);
}

uint64_t row_view::u64(size_t i, uint64_t dflt) const {
    return opt_u64(i).value_or(dflt);
}

bool row_view::boolean(size_t i) const {
    const column& c = columns_.at(i);
    if (c.present && c.integer_kind != 0) {
        return c.integer != 0;
    }
    return sql_truth(at(i));
}

row row_view::copy() const {
    row r;
    r.columns.reserve(columns_.size());
    for (size_t i = 0; i < columns_.size(); ++i) {
        auto v = at(i);
        r.columns.push_back(v ? value(std::string(*v)) : std::nullopt);
    }
    return r;
}

void statement::closer::operator()(st_mysql_stmt* s) const {
    mysql_stmt_close(s);
}

outcome<std::unique_ptr<statement>> statement::prepare(st_mysql* mysql, std::string_view sql) {
    MYSQL_STMT* s = mysql_stmt_init(mysql);
    if (s == nullptr) {
        return make_error(mysql_errno(mysql), mysql_sqlstate(mysql), mysql_error(mysql));
    }
    std::unique_ptr<statement> st(new statement(s));
    if (mysql_stmt_prepare(s, sql.data(), sql.size()) != 0) {
        return st->last_error();
    }
    return st;
}

statement::~statement() = default;

unsigned statement::param_count() const {
    return static_cast<unsigned>(mysql_stmt_param_count(stmt_.get()));
}

db::error statement::last_error() const {
    MYSQL_STMT* s = stmt_.get();
    return make_error(mysql_stmt_errno(s), mysql_stmt_sqlstate(s), mysql_stmt_error(s));
}

outcome<void> statement::run(const std::vector<param>& params) {
    MYSQL_STMT* s = stmt_.get();
    if (params.size() != mysql_stmt_param_count(s)) {
        return make_error(local_error::usage, "",
                          "statement has " + std::to_string(mysql_stmt_param_count(s)) +
                              " placeholders but " + std::to_string(params.size()) +
                              " parameters were given");
    }
    std::vector<MYSQL_BIND> binds(params.size());
    std::vector<unsigned long> lengths(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
        bind_param(binds[i], params[i], lengths[i]);
    }
    if (!params.empty() && mysql_stmt_bind_param(s, binds.data()) != 0) {
        return last_error();
    }
    if (mysql_stmt_execute(s) != 0) {
        return last_error();
    }
    return {};
}

outcome<void> statement::drain() {
    // Further result sets (CALL): the connection must be idle for the next command.
    MYSQL_STMT* s = stmt_.get();
    while (mysql_stmt_more_results(s)) {
        if (mysql_stmt_next_result(s) > 0) {
            return last_error();
        }
        mysql_stmt_free_result(s);
    }
    return {};
}

outcome<result> statement::execute(const std::vector<param>& params) {
    if (auto r = run(params); !r) {
        return r.error();
    }
    MYSQL_STMT* s = stmt_.get();
    result out;
    if (mysql_stmt_field_count(s) == 0) {
        out.affected_rows = mysql_stmt_affected_rows(s);
        out.insert_id = mysql_stmt_insert_id(s);
    } else {
        // Buffer the whole result client-side: the read timeout then covers the transfer, and
        // the connection is free again when we return.
        if (mysql_stmt_store_result(s) != 0) {
            db::error e = last_error();
            mysql_stmt_free_result(s);
            return e;
        }
        out.rows.reserve(mysql_stmt_num_rows(s));
        auto fetched = fetch([&out](const row_view& r) { out.rows.push_back(r.copy()); });
        if (!fetched) {
            return fetched.error();
        }
        out.affected_rows = *fetched;
    }
    if (auto r = drain(); !r) {
        return r.error();
    }
    return out;
}

outcome<uint64_t> statement::execute_each(const std::vector<param>& params, const row_sink& each) {
    if (auto r = run(params); !r) {
        return r.error();
    }
    uint64_t rows = 0;
    if (mysql_stmt_field_count(stmt_.get()) != 0) {
        auto fetched = fetch(each);
        if (!fetched) {
            return fetched.error();
        }
        rows = *fetched;
    }
    if (auto r = drain(); !r) {
        return r.error();
    }
    return rows;
}

outcome<uint64_t> statement::fetch(const row_sink& each) {
    MYSQL_STMT* s = stmt_.get();
    const unsigned ncols = mysql_stmt_field_count(s);
    std::vector<MYSQL_BIND> binds(ncols);
    std::vector<std::string> buffers(ncols, std::string(inline_column_size, '\0'));
    std::vector<unsigned long> lengths(ncols);
    std::vector<my_bool> nulls(ncols);
    std::vector<my_bool> errors(ncols);
    // Integer columns arrive as 8 bytes and stay numbers (row_view writes their text only when
    // asked): the client library's own conversion to text, and parsing it back, cost more on
    // millions of rows.
    std::vector<int64_t> integers(ncols);
    std::vector<char> integer_kind(ncols, 0);  // 0: text, 's': signed, 'u': unsigned
    if (MYSQL_RES* meta = mysql_stmt_result_metadata(s)) {
        const MYSQL_FIELD* fields = mysql_fetch_fields(meta);
        for (unsigned c = 0; c < ncols && fields != nullptr; ++c) {
            switch (fields[c].type) {
                case MYSQL_TYPE_TINY:
                case MYSQL_TYPE_SHORT:
                case MYSQL_TYPE_INT24:
                case MYSQL_TYPE_LONG:
                case MYSQL_TYPE_LONGLONG:
                    if (!(fields[c].flags & ZEROFILL_FLAG)) {
                        integer_kind[c] = fields[c].flags & UNSIGNED_FLAG ? 'u' : 's';
                    }
                    break;
                default:
                    break;
            }
        }
        mysql_free_result(meta);
    }
    for (unsigned c = 0; c < ncols; ++c) {
        binds[c].length = &lengths[c];
        binds[c].is_null = &nulls[c];
        binds[c].error = &errors[c];
        if (integer_kind[c] != 0) {
            binds[c].buffer_type = MYSQL_TYPE_LONGLONG;
            binds[c].buffer = &integers[c];
            binds[c].is_unsigned = integer_kind[c] == 'u';
            continue;
        }
        binds[c].buffer_type = MYSQL_TYPE_STRING;
        binds[c].buffer = buffers[c].data();
        binds[c].buffer_length = inline_column_size;
    }
    if (mysql_stmt_bind_result(s, binds.data()) != 0) {
        db::error e = last_error();
        mysql_stmt_free_result(s);
        return e;
    }
    // One view, refilled for every fetch: no allocation per row, no copy of a value that fits
    // its fetch buffer.
    row_view r;
    r.columns_.resize(ncols);
    for (unsigned c = 0; c < ncols; ++c) {
        r.columns_[c].integer_kind = integer_kind[c];
    }
    std::vector<std::string> long_values(ncols);  // columns longer than their fetch buffer
    uint64_t count = 0;
    for (;;) {
        int rc = mysql_stmt_fetch(s);
        if (rc == MYSQL_NO_DATA) {
            break;
        }
        if (rc != 0 && rc != MYSQL_DATA_TRUNCATED) {
            db::error e = last_error();
            mysql_stmt_free_result(s);
            return e;
        }
        for (unsigned c = 0; c < ncols; ++c) {
            row_view::column& v = r.columns_[c];
            v.present = !nulls[c];
            if (!v.present) {
                continue;
            }
            if (integer_kind[c] != 0) {
                v.integer = integers[c];
                v.digits_size = 0;
                continue;
            }
            if (lengths[c] <= inline_column_size) {
                v.text = std::string_view(buffers[c].data(), lengths[c]);
                continue;
            }
            // Truncated: read the whole column into a buffer of its exact length.
            std::string& whole = long_values[c];
            whole.assign(lengths[c], '\0');
            unsigned long full_length = 0;
            my_bool full_null = 0;
            my_bool full_error = 0;
            MYSQL_BIND b{};
            b.buffer_type = MYSQL_TYPE_STRING;
            b.buffer = whole.data();
            b.buffer_length = whole.size();
            b.length = &full_length;
            b.is_null = &full_null;
            b.error = &full_error;
            if (mysql_stmt_fetch_column(s, &b, c, 0) != 0) {
                db::error e = last_error();
                mysql_stmt_free_result(s);
                return e;
            }
            whole.resize(std::min<unsigned long>(full_length, whole.size()));
            v.text = whole;
        }
        ++count;
        each(r);
    }
    mysql_stmt_free_result(s);
    return count;
}

}  // namespace vhostmail::db
