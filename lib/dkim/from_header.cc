// SPDX-License-Identifier: Apache-2.0
#include "lib/dkim/from_header.hh"

#include <optional>
#include <vector>

#include "lib/core/strings.hh"

namespace vhostmail::dkim {

namespace {

// RFC 5322 3.2.3 atext; bytes above 0x7f are UTF-8 (RFC 6532) and count as atext.
bool is_atext(unsigned char c) {
    if (c >= 0x80) {
        return true;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        return true;
    }
    return std::string_view("!#$%&'*+-/=?^_`{|}~").find(static_cast<char>(c)) !=
           std::string_view::npos;
}

// One lexical item of a field value.
struct token {
    enum class kind { atom, quoted, special, literal } what;
    std::string text;  // atom: the atom; quoted: the unquoted content; special: the character;
                       // literal: "[...]" as written
    bool blank_before = false;  // whitespace or a comment came before it
};

struct tokens {
    std::vector<token> items;
    std::string error;
};

// Splits a value into atoms, quoted strings, domain literals and specials, dropping folding,
// whitespace and (nested) comments.
tokens tokenize(std::string_view v) {
    tokens out;
    bool blank = false;
    size_t i = 0;
    while (i < v.size()) {
        unsigned char c = static_cast<unsigned char>(v[i]);
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            blank = true;
            ++i;
            continue;
        }
        if (c == '(') {
            int depth = 0;
            for (; i < v.size(); ++i) {
                if (v[i] == '\\') {
                    ++i;
                } else if (v[i] == '(') {
                    ++depth;
                } else if (v[i] == ')' && --depth == 0) {
                    break;
                }
            }
            if (i >= v.size()) {
                out.error = "unterminated comment";
                return out;
            }
            ++i;
            blank = true;
            continue;
        }
        token t{token::kind::atom, {}, blank};
        blank = false;
        if (c == '"') {
            t.what = token::kind::quoted;
            ++i;
            bool closed = false;
            for (; i < v.size(); ++i) {
                if (v[i] == '\\' && i + 1 < v.size()) {
                    // A quoted-pair is a visible character or a blank; never a line end.
                    if (v[i + 1] != '\r' && v[i + 1] != '\n') {
                        t.text.push_back(v[i + 1]);
                    }
                    ++i;
                } else if (v[i] == '"') {
                    closed = true;
                    ++i;
                    break;
                } else if (v[i] != '\r' && v[i] != '\n') {
                    t.text.push_back(v[i]);
                }
            }
            if (!closed) {
                out.error = "unterminated quoted string";
                return out;
            }
        } else if (c == '[') {
            t.what = token::kind::literal;
            size_t end = v.find(']', i);
            if (end == std::string_view::npos) {
                out.error = "unterminated domain literal";
                return out;
            }
            t.text = std::string(v.substr(i, end - i + 1));
            i = end + 1;
        } else if (is_atext(c)) {
            size_t j = i;
            while (j < v.size() && is_atext(static_cast<unsigned char>(v[j]))) {
                ++j;
            }
            t.text = std::string(v.substr(i, j - i));
            i = j;
        } else if (c < 0x20 || c == 0x7f) {
            out.error = "control character";
            return out;
        } else {
            t.what = token::kind::special;
            t.text = std::string(1, static_cast<char>(c));
            ++i;
        }
        out.items.push_back(std::move(t));
    }
    return out;
}

bool is_special(const token& t, char c) {
    return t.what == token::kind::special && t.text[0] == c;
}

bool is_word(const token& t) {
    return t.what == token::kind::atom || t.what == token::kind::quoted;
}

// A quoted local part needs its quotes only when it is not a dot-atom.
bool dot_atom(std::string_view s) {
    if (s.empty() || s.front() == '.' || s.back() == '.' ||
        s.find("..") != std::string_view::npos) {
        return false;
    }
    for (unsigned char c : s) {
        if (c != '.' && !is_atext(c)) {
            return false;
        }
    }
    return true;
}

std::string quote(std::string_view s) {
    std::string q = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            q.push_back('\\');
        }
        q.push_back(c);
    }
    q.push_back('"');
    return q;
}

// addr-spec over items [b, e): local-part "@" domain, where local-part is words joined by dots
// (obs-local-part allows a quoted word among them) and domain is atoms joined by dots or one
// literal.
std::optional<std::string> addr_spec(const std::vector<token>& items, size_t b, size_t e,
                                     std::string& error) {
    size_t at = b;
    while (at < e && !is_special(items[at], '@')) {
        ++at;
    }
    if (at == e || at == b || at + 1 == e) {
        error = "not an address";
        return std::nullopt;
    }
    std::string local;
    for (size_t i = b; i < at; ++i) {
        bool expect_word = (i - b) % 2 == 0;
        if (expect_word ? !is_word(items[i]) : !is_special(items[i], '.')) {
            error = "malformed local part";
            return std::nullopt;
        }
        local += items[i].text;
    }
    if ((at - b) % 2 == 0) {
        error = "malformed local part";
        return std::nullopt;
    }
    if (local.empty()) {
        error = "empty local part";
        return std::nullopt;
    }
    std::string domain;
    if (at + 2 == e && items[at + 1].what == token::kind::literal) {
        domain = items[at + 1].text;
    } else {
        for (size_t i = at + 1; i < e; ++i) {
            bool expect_atom = (i - at - 1) % 2 == 0;
            if (expect_atom ? items[i].what != token::kind::atom : !is_special(items[i], '.')) {
                error = "malformed domain";
                return std::nullopt;
            }
            domain += items[i].text;
        }
        if ((e - at - 1) % 2 == 0) {
            error = "malformed domain";
            return std::nullopt;
        }
    }
    return (dot_atom(local) ? local : quote(local)) + "@" + ascii_lower(domain);
}

// One mailbox over items [b, e): addr-spec, or a display name (words and dots, obs-phrase)
// followed by <addr-spec>.
std::optional<std::string> mailbox(const std::vector<token>& items, size_t b, size_t e,
                                   std::string& error) {
    size_t open = b;
    while (open < e && !is_special(items[open], '<')) {
        ++open;
    }
    if (open == e) {
        return addr_spec(items, b, e, error);
    }
    for (size_t i = b; i < open; ++i) {
        if (!is_word(items[i]) && !is_special(items[i], '.')) {
            error = "malformed display name";
            return std::nullopt;
        }
    }
    if (e - open < 3 || !is_special(items[e - 1], '>')) {
        error = "malformed angle address";
        return std::nullopt;
    }
    for (size_t i = open + 1; i + 1 < e; ++i) {
        if (is_special(items[i], '<') || is_special(items[i], '>') || is_special(items[i], ':') ||
            is_special(items[i], ',')) {
            error = "malformed angle address (source routes are not accepted)";
            return std::nullopt;
        }
    }
    return addr_spec(items, open + 1, e - 1, error);
}

}  // namespace

from_address parse_from_header(std::string_view value) {
    from_address r;
    if (value.size() > max_from_value) {
        r.error = "From field too long";
        return r;
    }
    auto t = tokenize(value);
    if (!t.error.empty()) {
        r.error = t.error;
        return r;
    }
    const auto& items = t.items;
    if (items.empty()) {
        r.what = from_address::kind::empty;
        r.error = "no address in From";
        return r;
    }
    // Mailboxes are separated by commas outside angle brackets (quotes and comments are gone).
    std::vector<std::pair<size_t, size_t>> parts;
    size_t start = 0;
    bool in_angle = false;
    for (size_t i = 0; i < items.size(); ++i) {
        if (is_special(items[i], '<')) {
            in_angle = true;
        } else if (is_special(items[i], '>')) {
            in_angle = false;
        } else if (is_special(items[i], ',') && !in_angle) {
            parts.emplace_back(start, i);
            start = i + 1;
        } else if ((is_special(items[i], ':') || is_special(items[i], ';')) && !in_angle) {
            r.error = "group syntax in From";
            return r;
        }
    }
    parts.emplace_back(start, items.size());
    if (parts.size() > 1) {
        r.what = from_address::kind::several;
        r.error = "several addresses in From";
        return r;
    }
    auto address = mailbox(items, parts[0].first, parts[0].second, r.error);
    if (!address) {
        return r;
    }
    r.what = from_address::kind::one;
    r.address = std::move(*address);
    r.error.clear();
    return r;
}

}  // namespace vhostmail::dkim
