// SPDX-License-Identifier: Apache-2.0
// http_request_fuzz.cc - libFuzzer target for lib/proto/http_request: parses the input as the
// head of a request with three limits, checks that a head is decided exactly at its blank line,
// that an accepted request is what RFC 9112 allows, and that every refusal and response frames
// its body by Content-Length; and the client's side: parse_http_response reads what
// encode_http_response writes, and refuses the rest without reading past the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "lib/proto/http_request.hh"

#include "tests/fuzz/fuzz_check.hh"

using namespace vhostmail::proto;

namespace {

// The value of Content-Length in a response head, or -1.
long content_length(std::string_view response) {
    size_t at = response.find("\r\nContent-Length: ");
    if (at == std::string_view::npos) {
        return -1;
    }
    return std::stol(std::string(response.substr(at + 18, response.find('\r', at + 18) - at - 18)));
}

void check_framing(std::string_view response, bool head_only) {
    size_t end = response.find("\r\n\r\n");
    VHOSTMAIL_FUZZ_CHECK(end != std::string_view::npos);
    VHOSTMAIL_FUZZ_CHECK(response.starts_with("HTTP/1.1 "));
    VHOSTMAIL_FUZZ_CHECK(response.find("\r\nConnection: close\r\n") < end);
    long length = content_length(response);
    VHOSTMAIL_FUZZ_CHECK(length >= 0);
    size_t body = response.size() - end - 4;
    VHOSTMAIL_FUZZ_CHECK(head_only ? body == 0 : body == static_cast<size_t>(length));
}

void check_parse(std::string_view input, size_t max_head) {
    const http_parse p = parse_http_request(input, max_head);
    switch (p.what) {
        case http_parse::kind::need_more:
            VHOSTMAIL_FUZZ_CHECK(p.consumed == 0 && !p.fatal);
            VHOSTMAIL_FUZZ_CHECK(input.size() < max_head);
            return;
        case http_parse::kind::error:
            VHOSTMAIL_FUZZ_CHECK(p.fatal && !p.error.empty());
            VHOSTMAIL_FUZZ_CHECK(p.consumed <= input.size() && p.consumed <= max_head);
            if (p.consumed == 0) {
                VHOSTMAIL_FUZZ_CHECK(input.size() >= max_head);
            }
            check_framing(encode_http_refusal(p), false);
            return;
        case http_parse::kind::request:
            break;
    }
    VHOSTMAIL_FUZZ_CHECK(!p.fatal);
    VHOSTMAIL_FUZZ_CHECK(p.consumed >= 2 && p.consumed <= input.size() && p.consumed <= max_head);
    VHOSTMAIL_FUZZ_CHECK(input[p.consumed - 1] == '\n');
    VHOSTMAIL_FUZZ_CHECK(!p.request.method.empty());
    VHOSTMAIL_FUZZ_CHECK(p.request.target.starts_with('/'));
    VHOSTMAIL_FUZZ_CHECK(p.request.target.find_first_of(" \r\n") == std::string::npos);
    VHOSTMAIL_FUZZ_CHECK(p.request.minor_version >= 0 && p.request.minor_version <= 9);
    VHOSTMAIL_FUZZ_CHECK(p.request.path().size() <= p.request.target.size());
    // The head ends at its blank line, not before, and nothing after it changes the answer.
    const std::string_view head = input.substr(0, p.consumed);
    const http_parse again = parse_http_request(head, max_head);
    VHOSTMAIL_FUZZ_CHECK(again.what == http_parse::kind::request && again.consumed == p.consumed);
    VHOSTMAIL_FUZZ_CHECK(again.request.target == p.request.target);
    VHOSTMAIL_FUZZ_CHECK(parse_http_request(head.substr(0, head.size() - 1), max_head).what ==
                         http_parse::kind::need_more);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    check_parse(input, http_max_head);
    check_parse(input, 64);
    check_parse(input, 1);
    check_framing(encode_http_response(200, "text/plain", input), false);
    check_framing(encode_http_response(200, "", input, true), true);
    // The client's side: any input is read or refused, a body is a part of the input, and
    // every response we write reads back as written.
    std::string error;
    if (auto r = parse_http_response(input, error)) {
        VHOSTMAIL_FUZZ_CHECK(r->status >= 0 && r->status <= 999);
        VHOSTMAIL_FUZZ_CHECK(r->body.data() >= input.data() &&
                             r->body.data() + r->body.size() == input.data() + input.size());
    } else {
        VHOSTMAIL_FUZZ_CHECK(!error.empty());
    }
    auto ours = encode_http_response(404, "text/plain", input);
    auto back = parse_http_response(ours, error);
    VHOSTMAIL_FUZZ_CHECK(back && back->status == 404 && back->body == input &&
                         back->content_type == "text/plain");
    return 0;
}
