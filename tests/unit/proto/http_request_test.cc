// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/http_request.hh"

#include <string>

#include <catch2/catch.hpp>

using namespace vhostmail::proto;

namespace {

http_parse parse(std::string_view s) {
    return parse_http_request(s);
}

}  // namespace

TEST_CASE("http: what Prometheus sends parses", "[http]") {
    const std::string scrape =
        "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1:9150\r\nUser-Agent: Prometheus/2.42.0\r\n"
        "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5\r\n"
        "Accept-Encoding: gzip\r\nX-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n";
    auto p = parse(scrape);
    REQUIRE(p.what == http_parse::kind::request);
    CHECK(p.consumed == scrape.size());
    CHECK(p.request.method == "GET");
    CHECK(p.request.target == "/metrics");
    CHECK(p.request.path() == "/metrics");
    CHECK(p.request.minor_version == 1);
    // curl's HTTP/1.0, bare LFs, a query, an empty line before the request line.
    auto q = parse("\r\nHEAD /metrics?name[]=x HTTP/1.0\nAccept: */*\n\n");
    REQUIRE(q.what == http_parse::kind::request);
    CHECK(q.request.method == "HEAD");
    CHECK(q.request.path() == "/metrics");
    CHECK(q.request.minor_version == 0);
    CHECK(parse("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").what ==
          http_parse::kind::request);
}

TEST_CASE("http: an incomplete head waits, an endless one is refused with 431", "[http]") {
    const std::string full = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    for (size_t n = 0; n < full.size(); ++n) {
        INFO(n);
        CHECK(parse(full.substr(0, n)).what == http_parse::kind::need_more);
    }
    std::string endless = "GET /metrics HTTP/1.1\r\nHost: x\r\nX: " + std::string(9000, 'a');
    auto p = parse(endless);
    REQUIRE(p.what == http_parse::kind::error);
    CHECK(p.fatal);
    CHECK(p.consumed == 0);
    CHECK(encode_http_refusal(p).starts_with("HTTP/1.1 431 "));
    // The limit counts the blank line: a head of exactly max_head bytes fits, one more does not.
    std::string exact = "GET / HTTP/1.0\r\nX: ";
    exact += std::string(64 - exact.size() - 4, 'b') + "\r\n\r\n";
    REQUIRE(exact.size() == 64);
    CHECK(parse_http_request(exact, 64).what == http_parse::kind::request);
    CHECK(parse_http_request(exact, 63).consumed == 0);
    CHECK(parse_http_request(exact, 63).what == http_parse::kind::error);
    std::string many = "GET / HTTP/1.0\r\n";
    for (size_t i = 0; i <= http_max_fields; ++i) {
        many += "X: y\r\n";
    }
    auto m = parse(many + "\r\n");
    REQUIRE(m.what == http_parse::kind::error);
    CHECK(encode_http_refusal(m).starts_with("HTTP/1.1 400 "));
}

TEST_CASE("http: malformed and smuggling-prone heads are refused with 400", "[http]") {
    for (std::string bad : {
             "GET /metrics\r\n\r\n",                                 // HTTP/0.9
             "GET  /metrics HTTP/1.0\r\n\r\n",                       // two spaces
             "GET /metrics HTTP/1.0 \r\n\r\n",                       // trailing space
             "GET metrics HTTP/1.0\r\n\r\n",                         // not a path
             "GET http://x/metrics HTTP/1.0\r\n\r\n",                // absolute form: no proxy here
             "G(T /metrics HTTP/1.0\r\n\r\n",                        // method not a token
             "GET /metrics HTTP/2.0\r\n\r\n",                        // version
             "GET /metrics HTTP/1.1\r\n\r\n",                        // 1.1 without Host
             "GET /metrics HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  // two Hosts
             "GET /metrics HTTP/1.0\r\nX: a\r\n b\r\n\r\n",          // obs-fold
             "GET /metrics HTTP/1.0\r\nX : a\r\n\r\n",               // space before the colon
             "GET /metrics HTTP/1.0\r\nnocolon\r\n\r\n",
             "GET /metrics HTTP/1.0\r\nX: a\x01\r\n\r\n",                // control character
             "GET /me\rtrics HTTP/1.0\r\n\r\n",                          // bare CR
             "GET /metrics HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello",  // a body
             "GET /metrics HTTP/1.0\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n",
             "GET /metrics HTTP/1.0\r\nContent-Length: -0\r\n\r\n",
             "GET /metrics HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
         }) {
        INFO(bad);
        auto p = parse(bad);
        REQUIRE(p.what == http_parse::kind::error);
        CHECK(p.fatal);
        CHECK(p.consumed > 0);
        CHECK(p.consumed <= bad.size());
        std::string refusal = encode_http_refusal(p);
        CHECK(refusal.starts_with("HTTP/1.1 400 Bad Request\r\n"));
        CHECK(refusal.find("Connection: close\r\n") != std::string::npos);
    }
}

TEST_CASE("http: responses say their length and close", "[http]") {
    CHECK(encode_http_response(200, "text/plain; version=0.0.4; charset=utf-8", "a 1\n") ==
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
          "Content-Length: 4\r\nConnection: close\r\n\r\na 1\n");
    // HEAD: the same length, no body.
    CHECK(encode_http_response(200, "text/plain", "a 1\n", true) ==
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n"
          "Connection: close\r\n\r\n");
    CHECK(encode_http_response(405, "", "", false, "Allow: GET, HEAD\r\n") ==
          "HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n"
          "Allow: GET, HEAD\r\n\r\n");
}

TEST_CASE("http: a response reads back; truncated and chunked ones are refused", "[http]") {
    std::string error;
    auto ours = encode_http_response(200, "text/plain; version=0.0.4", "a 1\n");
    auto r = parse_http_response(ours, error);
    REQUIRE(r);
    CHECK(r->status == 200);
    CHECK(r->content_type == "text/plain; version=0.0.4");
    CHECK(r->body == "a 1\n");
    auto lf = parse_http_response("HTTP/1.0 404 Not Found\nServer: x\n\nnope", error);
    REQUIRE(lf);
    CHECK(lf->status == 404);
    CHECK(lf->body == "nope");
    CHECK_FALSE(parse_http_response(ours.substr(0, ours.size() - 1), error));
    CHECK(error == "the body is not as long as its Content-Length");
    CHECK_FALSE(parse_http_response("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n", error));
    CHECK_FALSE(
        parse_http_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n", error));
    CHECK_FALSE(parse_http_response("SSH-2.0-OpenSSH\r\n\r\n", error));
    CHECK_FALSE(parse_http_response("HTTP/1.1 2x0 OK\r\n\r\n", error));
    CHECK_FALSE(parse_http_response("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", error));
}
