// SPDX-License-Identifier: Apache-2.0
#include "lib/proto/dovecot_auth.hh"

#include <charconv>

#include "lib/core/strings.hh"

namespace vhostmail::proto {

namespace {

std::vector<std::string_view> split_tabs(std::string_view line) {
    std::vector<std::string_view> out;
    while (true) {
        auto tab = line.find('\t');
        out.push_back(line.substr(0, tab));
        if (tab == std::string_view::npos) {
            return out;
        }
        line.remove_prefix(tab + 1);
    }
}

// Decimal, no sign, no leading '+', fits in 32 bits, non-zero (Dovecot rejects id 0).
std::optional<uint32_t> parse_id(std::string_view s) {
    uint32_t v = 0;
    if (s.empty() || s.size() > 10) {
        return std::nullopt;
    }
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || v == 0) {
        return std::nullopt;
    }
    return v;
}

std::optional<unsigned> parse_small(std::string_view s) {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

// Field values may not carry TAB or LF: they would split or end the reply line.
std::string field_value(std::string_view s) {
    return printable(s);
}

dovecot_auth_parse fail_parse(dovecot_auth_parse r, std::string why, bool fatal) {
    r.what = dovecot_auth_parse::kind::error;
    r.error = std::move(why);
    r.fatal = fatal;
    return r;
}

void parse_auth(const std::vector<std::string_view>& f, dovecot_auth_parse& r) {
    auto& c = r.request;
    c.what = dovecot_auth_command::verb::auth;
    c.mech = f[2];
    for (char& ch : c.mech) {
        ch = static_cast<char>(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
    }
    for (size_t i = 3; i < f.size(); ++i) {
        std::string_view p = f[i];
        auto eq = p.find('=');
        std::string_view key = p.substr(0, eq);
        std::string_view value = eq == std::string_view::npos ? "" : p.substr(eq + 1);
        if (key == "service") {
            c.service = value;
        } else if (key == "rip") {
            c.remote_ip = value;
        } else if (key == "lip") {
            c.local_ip = value;
        } else if (key == "secured") {
            c.secured = true;
        } else if (key == "resp") {
            // "resp==" is an empty initial response; "resp=" alone means none (minor 0 rule).
            if (value == "=") {
                c.has_response = true;
                c.response.clear();
            } else if (!value.empty()) {
                c.has_response = true;
                c.response = value;
            }
        }
    }
}

}  // namespace

dovecot_auth_parse parse_dovecot_auth_line(std::string_view buf) {
    dovecot_auth_parse r;
    auto lf = buf.find('\n');
    if (lf == std::string_view::npos) {
        if (buf.size() >= dovecot_auth_max_line) {
            r.consumed = dovecot_auth_max_line;
            return fail_parse(std::move(r), "line too long", true);
        }
        return r;
    }
    if (lf + 1 > dovecot_auth_max_line) {
        r.consumed = dovecot_auth_max_line;  // fatal anyway; the same however the input is split
        return fail_parse(std::move(r), "line too long", true);
    }
    r.consumed = lf + 1;
    std::string_view line = buf.substr(0, lf);
    if (line.ends_with('\r')) {
        line.remove_suffix(1);
    }
    auto f = split_tabs(line);
    using verb = dovecot_auth_command::verb;
    auto& c = r.request;
    r.what = dovecot_auth_parse::kind::request;
    if (f[0] == "VERSION") {
        c.what = verb::version;
        auto major = f.size() >= 3 ? parse_small(f[1]) : std::nullopt;
        auto minor = f.size() >= 3 ? parse_small(f[2]) : std::nullopt;
        if (!major || !minor || *major != 1) {
            return fail_parse(std::move(r), "unsupported protocol version", true);
        }
        c.major = *major;
        c.minor = *minor;
    } else if (f[0] == "CPID") {
        c.what = verb::cpid;
    } else if (f[0] == "AUTH" || f[0] == "CONT") {
        auto id = f.size() >= 2 ? parse_id(f[1]) : std::nullopt;
        if (!id) {
            return fail_parse(std::move(r), "malformed " + std::string(f[0]) + " id", true);
        }
        c.id = *id;
        if (f[0] == "CONT") {
            c.what = verb::cont;
            if (f.size() < 3) {
                return fail_parse(std::move(r), "CONT without data", false);
            }
            c.has_response = true;
            c.response = f[2];
        } else {
            c.what = verb::auth;
            if (f.size() < 3 || f[2].empty()) {
                return fail_parse(std::move(r), "AUTH without mechanism", false);
            }
            parse_auth(f, r);
        }
    } else {
        c.what = verb::unknown;
    }
    return r;
}

std::string encode_dovecot_handshake(const std::vector<dovecot_mech>& mechs, uint64_t spid,
                                     uint64_t cuid, std::string_view cookie) {
    std::string out = "VERSION\t1\t2\n";
    for (const auto& m : mechs) {
        out += "MECH\t" + field_value(m.name);
        for (const auto& flag : m.flags) {
            out += "\t" + field_value(flag);
        }
        out += "\n";
    }
    out += "SPID\t" + std::to_string(spid) + "\n";
    out += "CUID\t" + std::to_string(cuid) + "\n";
    out += "COOKIE\t" + field_value(cookie) + "\n";
    out += "DONE\n";
    return out;
}

std::string encode_dovecot_ok(uint32_t id, std::string_view user) {
    return "OK\t" + std::to_string(id) + "\tuser=" + field_value(user) + "\n";
}

std::string encode_dovecot_cont(uint32_t id, std::string_view base64_challenge) {
    return "CONT\t" + std::to_string(id) + "\t" + field_value(base64_challenge) + "\n";
}

std::string encode_dovecot_fail(uint32_t id, std::string_view reason, std::string_view user) {
    std::string out = "FAIL\t" + std::to_string(id);
    if (!user.empty()) {
        out += "\tuser=" + field_value(user);
    }
    if (!reason.empty()) {
        out += "\treason=" + field_value(reason);
    }
    return out + "\n";
}

std::optional<plain_message> parse_plain_message(std::string_view decoded) {
    auto first = decoded.find('\0');
    if (first == std::string_view::npos) {
        return std::nullopt;
    }
    auto second = decoded.find('\0', first + 1);
    if (second == std::string_view::npos ||
        decoded.find('\0', second + 1) != std::string_view::npos) {
        return std::nullopt;
    }
    plain_message m{std::string(decoded.substr(0, first)),
                    std::string(decoded.substr(first + 1, second - first - 1)),
                    std::string(decoded.substr(second + 1))};
    if (m.authcid.empty() || m.password.empty()) {
        return std::nullopt;
    }
    return m;
}

}  // namespace vhostmail::proto
