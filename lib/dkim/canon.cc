// SPDX-License-Identifier: Apache-2.0
#include "lib/dkim/canon.hh"

#include "lib/core/strings.hh"

namespace vhostmail::dkim {

namespace {

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

std::optional<canon> parse_one(std::string_view text) {
    if (iequals(text, "simple")) {
        return canon::simple;
    }
    if (iequals(text, "relaxed")) {
        return canon::relaxed;
    }
    return std::nullopt;
}

std::string_view name_of(canon c) {
    return c == canon::simple ? "simple" : "relaxed";
}

}  // namespace

std::optional<canon_pair> parse_canon(std::string_view text) {
    auto slash = text.find('/');
    auto header = parse_one(text.substr(0, slash));
    auto body = slash == std::string_view::npos ? std::optional<canon>(canon::simple)
                                                : parse_one(text.substr(slash + 1));
    if (!header || !body) {
        return std::nullopt;
    }
    return canon_pair{*header, *body};
}

std::string canon_text(canon_pair c) {
    return std::string(name_of(c.header)) + "/" + std::string(name_of(c.body));
}

void canonicalize_header(canon c, std::string_view name, std::string_view value, std::string& out) {
    if (c == canon::simple) {
        out.append(name);
        out.push_back(':');
        // Folding kept as it is; only the line ends become CRLF.
        for (size_t i = 0; i < value.size(); ++i) {
            if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) {
                out.push_back('\r');
            }
            out.push_back(value[i]);
        }
        out.append("\r\n");
        return;
    }
    out.append(ascii_lower(trim(name)));
    out.push_back(':');
    // Unfold, turn each run of blanks into one space, and drop blanks at both ends.
    bool blank = false;
    bool started = false;
    for (char ch : value) {
        if (ch == '\r' || ch == '\n') {
            continue;
        }
        if (is_blank(ch)) {
            blank = true;
            continue;
        }
        if (blank && started) {
            out.push_back(' ');
        }
        blank = false;
        started = true;
        out.push_back(ch);
    }
    out.append("\r\n");
}

void body_canonicalizer::line_end(std::string& out) {
    if (line_started_) {
        out.append("\r\n");
    } else {
        ++held_empty_lines_;
    }
    line_started_ = false;
    held_blank_ = false;
}

// Non-blank text (or, under simple, any text) of the current line.
void body_canonicalizer::content(std::string_view text, std::string& out) {
    if (!line_started_) {
        for (; held_empty_lines_ > 0; --held_empty_lines_) {
            out.append("\r\n");
        }
        line_started_ = true;
        wrote_any_ = true;
    }
    if (held_blank_) {
        out.push_back(' ');
        held_blank_ = false;
    }
    out.append(text);
}

void body_canonicalizer::feed(std::string_view chunk, std::string& out) {
    size_t i = 0;
    if (held_cr_) {
        held_cr_ = false;
        if (!chunk.empty() && chunk[0] == '\n') {
            line_end(out);
            i = 1;
        } else if (!chunk.empty()) {
            content("\r", out);
        } else {
            held_cr_ = true;
            return;
        }
    }
    while (i < chunk.size()) {
        // The run up to the next line end, blank or CR: copied in one piece.
        size_t j = i;
        if (c_ == canon::simple) {
            while (j < chunk.size() && chunk[j] != '\n' && chunk[j] != '\r') {
                ++j;
            }
        } else {
            while (j < chunk.size() && chunk[j] != '\n' && chunk[j] != '\r' &&
                   !is_blank(chunk[j])) {
                ++j;
            }
        }
        if (j > i) {
            content(chunk.substr(i, j - i), out);
            i = j;
            continue;
        }
        char ch = chunk[i];
        if (ch == '\n') {
            line_end(out);
        } else if (ch == '\r') {
            if (i + 1 == chunk.size()) {
                held_cr_ = true;  // decided by the next chunk
            } else if (chunk[i + 1] == '\n') {
                line_end(out);
                ++i;
            } else {
                content("\r", out);
            }
        } else {
            held_blank_ = true;  // relaxed only: a run of blanks becomes one space, if text follows
        }
        ++i;
    }
}

void body_canonicalizer::finish(std::string& out) {
    if (held_cr_) {
        held_cr_ = false;
        content("\r", out);
    }
    if (line_started_) {
        out.append("\r\n");
        line_started_ = false;
    }
    held_empty_lines_ = 0;
    held_blank_ = false;
    if (c_ == canon::simple && !wrote_any_) {
        out.append("\r\n");
        wrote_any_ = true;
    }
}

}  // namespace vhostmail::dkim
