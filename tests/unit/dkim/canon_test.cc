// SPDX-License-Identifier: Apache-2.0
// Canonicalization against RFC 6376's own example (3.4.5) and vectors printed by a second
// implementation, Debian's python3-dkim (dkim.canonicalization, version 1.1.4), for the same
// inputs; and the streaming property: any split of a body into chunks gives the same output.
#include "lib/dkim/canon.hh"

#include <catch2/catch.hpp>

using namespace vhostmail::dkim;

namespace {

std::string body(canon c, std::string_view in) {
    body_canonicalizer b(c);
    std::string out;
    b.feed(in, out);
    b.finish(out);
    return out;
}

std::string body_bytewise(canon c, std::string_view in) {
    body_canonicalizer b(c);
    std::string out;
    for (char ch : in) {
        b.feed(std::string_view(&ch, 1), out);
    }
    b.feed("", out);
    b.finish(out);
    return out;
}

std::string header(canon c, std::string_view name, std::string_view value) {
    std::string out;
    canonicalize_header(c, name, value, out);
    return out;
}

struct vector {
    const char* input;
    const char* simple;
    const char* relaxed;
};

// python3-dkim 1.1.4: Simple.canonicalize_body / Relaxed.canonicalize_body of each input.
const vector body_vectors[] = {
    {"", "\r\n", ""},
    {"\r\n\r\n\r\n", "\r\n", ""},
    {"Hello\r\n\r\n\r\n", "Hello\r\n", "Hello\r\n"},
    {"Hello  \t\r\nWorld \r\n", "Hello  \t\r\nWorld \r\n", "Hello\r\nWorld\r\n"},
    {"a  \t b\t\tc\r\n  lead\r\n", "a  \t b\t\tc\r\n  lead\r\n", "a b c\r\n lead\r\n"},
    {"last line", "last line\r\n", "last line\r\n"},
    {"Gr\xc3\xbc\xc3\x9f"
     "e, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e  \r\n",
     "Gr\xc3\xbc\xc3\x9f"
     "e, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e  \r\n",
     "Gr\xc3\xbc\xc3\x9f"
     "e, \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\r\n"},
    {"x\r\n  \r\n\t\r\n", "x\r\n  \r\n\t\r\n", "x\r\n"},
    {".hidden\r\n..\r\n", ".hidden\r\n..\r\n", ".hidden\r\n..\r\n"},
};

}  // namespace

TEST_CASE("RFC 6376 3.4.5 example") {
    const std::string in_body = " C \r\nD \t E\r\n\r\n\r\n";
    CHECK(header(canon::relaxed, "A", " X") + header(canon::relaxed, "B ", " Y\t\r\n\tZ  ") ==
          "a:X\r\nb:Y Z\r\n");
    CHECK(body(canon::relaxed, in_body) == " C\r\nD E\r\n");
    CHECK(header(canon::simple, "A", " X") + header(canon::simple, "B ", " Y\t\r\n\tZ  ") ==
          "A: X\r\nB : Y\t\r\n\tZ  \r\n");
    CHECK(body(canon::simple, in_body) == " C \r\nD \t E\r\n");
}

TEST_CASE("body vectors from python3-dkim, whole and byte by byte") {
    for (const auto& v : body_vectors) {
        INFO("input: " << v.input);
        CHECK(body(canon::simple, v.input) == v.simple);
        CHECK(body(canon::relaxed, v.input) == v.relaxed);
        CHECK(body_bytewise(canon::simple, v.input) == v.simple);
        CHECK(body_bytewise(canon::relaxed, v.input) == v.relaxed);
    }
}

TEST_CASE("bare LF ends a line like CRLF; a lone CR is text") {
    CHECK(body(canon::simple, "a\nb\n\n") == "a\r\nb\r\n");
    CHECK(body(canon::relaxed, "a \nb\t\n\n") == "a\r\nb\r\n");
    CHECK(body(canon::simple, "a\rb\r\n") == "a\rb\r\n");
    CHECK(body_bytewise(canon::simple, "a\rb\r\n") == "a\rb\r\n");
    CHECK(body(canon::relaxed, "a \rb\r\n") == "a \rb\r\n");
    CHECK(body(canon::simple, "end\r") == "end\r\r\n");
    CHECK(body_bytewise(canon::simple, "end\r") == "end\r\r\n");
}

TEST_CASE("every split of a body into two chunks gives the same result") {
    const std::string in = "x \t y\r\n\r\n  \r\nz\r\r\n\n\r\n\r\n";
    for (canon c : {canon::simple, canon::relaxed}) {
        const std::string whole = body(c, in);
        for (size_t cut = 0; cut <= in.size(); ++cut) {
            body_canonicalizer b(c);
            std::string out;
            b.feed(std::string_view(in).substr(0, cut), out);
            b.feed(std::string_view(in).substr(cut), out);
            b.finish(out);
            CHECK(out == whole);
        }
    }
}

TEST_CASE("header vectors from python3-dkim") {
    CHECK(header(canon::relaxed, "Subject", " a  folded\r\n\t subject  ") ==
          "subject:a folded subject\r\n");
    CHECK(header(canon::relaxed, "To", "\tx@y") == "to:x@y\r\n");
    CHECK(header(canon::relaxed, "FROM", " Joe <joe@example.org>") ==
          "from:Joe <joe@example.org>\r\n");
    CHECK(header(canon::simple, "Subject", " a  folded\r\n\t subject  ") ==
          "Subject: a  folded\r\n\t subject  \r\n");
    // A milter hands folded values with bare LF: simple restores CRLF.
    CHECK(header(canon::simple, "Subject", " a\n\tb") == "Subject: a\r\n\tb\r\n");
    CHECK(header(canon::relaxed, "Subject", " a\n\tb") == "subject:a b\r\n");
}

TEST_CASE("c= values") {
    CHECK(canon_text(*parse_canon("relaxed/relaxed")) == "relaxed/relaxed");
    CHECK(canon_text(*parse_canon("Simple")) == "simple/simple");
    CHECK(canon_text(*parse_canon("relaxed")) == "relaxed/simple");
    CHECK_FALSE(parse_canon("relaxed/"));
    CHECK_FALSE(parse_canon("nofws"));
}
