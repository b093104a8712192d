// SPDX-License-Identifier: Apache-2.0
// canon.hh - DKIM canonicalization (RFC 6376 section 3.4), "simple" and "relaxed", for header
// fields and, streaming, for bodies: a body is fed in chunks as the MTA sends it and never held
// whole. Line ends may be CRLF or bare LF (both end a line; the output always has CRLF). Pure,
// reentrant; a body_canonicalizer belongs to one message.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace vhostmail::dkim {

enum class canon { simple, relaxed };

struct canon_pair {
    canon header = canon::relaxed;
    canon body = canon::relaxed;
};

// "relaxed/relaxed", "relaxed/simple", "simple" (= simple/simple), "relaxed" (= relaxed/simple,
// as the c= tag defines a missing body part). nullopt for anything else.
std::optional<canon_pair> parse_canon(std::string_view text);
// The c= tag's value: "relaxed/simple".
std::string canon_text(canon_pair c);

// Appends the canonical form of one header field to `out`, CRLF included. `value` is the text
// after the colon exactly as in the message: leading whitespace kept, folded lines joined by
// "\r\n" or "\n" followed by whitespace.
void canonicalize_header(canon c, std::string_view name, std::string_view value, std::string& out);

class body_canonicalizer {
public:
    explicit body_canonicalizer(canon c) : c_(c) {}

    // Appends the canonical form of `chunk` to `out`. Empty lines and (relaxed) whitespace are
    // held back until the text after them shows whether they end the body.
    void feed(std::string_view chunk, std::string& out);
    // Ends the body: appends what is still owed (the CRLF of an unterminated last line; for an
    // empty body under simple, the one CRLF RFC 6376 3.4.3 asks for).
    void finish(std::string& out);

private:
    void line_end(std::string& out);
    void content(std::string_view text, std::string& out);

    canon c_;
    size_t held_empty_lines_ = 0;
    bool held_blank_ = false;    // relaxed: whitespace seen since the last content on this line
    bool held_cr_ = false;       // the previous chunk ended in CR: a line end if LF follows
    bool line_started_ = false;  // content was written on the current line
    bool wrote_any_ = false;
};

}  // namespace vhostmail::dkim
