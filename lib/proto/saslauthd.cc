// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/saslauthd.hh"

#include <array>

namespace vhostmail::proto {

saslauthd_parse parse_saslauthd_request(std::string_view buf) {
    saslauthd_parse r;
    std::array<std::string*, 4> fields = {&r.request.login, &r.request.password, &r.request.service,
                                          &r.request.realm};
    static constexpr std::array<const char*, 4> names = {"login", "password", "service", "realm"};
    size_t pos = 0;
    for (size_t i = 0; i < fields.size(); ++i) {
        if (buf.size() - pos < 2) {
            return saslauthd_parse{};
        }
        size_t len = (size_t(static_cast<unsigned char>(buf[pos])) << 8) |
                     size_t(static_cast<unsigned char>(buf[pos + 1]));
        if (len > saslauthd_max_field) {
            return saslauthd_parse::failure(
                std::string(names[i]) + " field too long (" + std::to_string(len) + " bytes)",
                pos + 2, true);
        }
        if (buf.size() - pos - 2 < len) {
            return saslauthd_parse{};
        }
        *fields[i] = std::string(buf.substr(pos + 2, len));
        pos += 2 + len;
    }
    r.what = saslauthd_parse::kind::request;
    r.consumed = pos;
    return r;
}

std::string saslauthd_full_login(const saslauthd_request& r) {
    return r.realm.empty() ? r.login : r.login + "@" + r.realm;
}

std::string encode_saslauthd_reply(bool ok, std::string_view text) {
    std::string body = ok ? "OK" : "NO";
    if (!text.empty()) {
        body += " ";
        body += text.substr(0, 1000);
    }
    std::string out;
    out += static_cast<char>((body.size() >> 8) & 0xff);
    out += static_cast<char>(body.size() & 0xff);
    return out + body;
}

}  // namespace vhostmail::proto
