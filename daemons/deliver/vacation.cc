// SPDX-License-Identifier: Apache-2.0
#include "daemons/deliver/vacation.hh"

#include <random>

#include "lib/core/address.hh"
#include "lib/core/strings.hh"

namespace vhostmail::deliver {

std::string_view to_string(reply_decision d) {
    switch (d) {
        case reply_decision::reply:
            return "reply";
        case reply_decision::null_sender:
            return "null sender";
        case reply_decision::system_sender:
            return "system or list sender";
        case reply_decision::self:
            return "sender is the recipient";
        case reply_decision::auto_submitted:
            return "auto-submitted";
        case reply_decision::list:
            return "list message";
        case reply_decision::bulk:
            return "bulk precedence";
        case reply_decision::suppressed:
            return "auto-response suppressed";
        case reply_decision::not_addressed:
            return "recipient not in To/Cc";
    }
    return "?";
}

namespace {

bool is_system_sender(std::string_view sender) {
    auto parts = split_address(sender);
    std::string local = ascii_lower(parts.local);
    for (std::string_view p : {"mailer-daemon", "listserv", "majordomo", "owner-"}) {
        if (local.rfind(p, 0) == 0) {
            return true;
        }
    }
    return local.size() >= 8 && local.find("-request") != std::string::npos;
}

std::string strip_extension(const std::string& address) {
    auto parts = split_address(address);
    auto ext = split_extension(parts.local, "+");
    return ext ? ext->base + "@" + parts.domain : address;
}

}  // namespace

reply_decision decide_reply(const reply_input& in) {
    std::string sender = ascii_lower(trim(in.envelope_sender));
    if (sender.empty() || sender == "<>" || sender.find('@') == std::string::npos) {
        return reply_decision::null_sender;
    }
    if (is_system_sender(sender)) {
        return reply_decision::system_sender;
    }
    for (const auto& own : in.own_addresses) {
        if (iequals(own, sender) || iequals(strip_extension(own), strip_extension(sender))) {
            return reply_decision::self;
        }
    }
    static const std::vector<header_field> none;
    const auto& headers = in.headers ? *in.headers : none;
    if (auto v = find_header(headers, "Auto-Submitted"); v && !iequals(trim(*v), "no")) {
        auto word = ascii_lower(trim(std::string_view(*v).substr(0, v->find(';'))));
        if (word != "no") {
            return reply_decision::auto_submitted;
        }
    }
    for (std::string_view h : {"List-Id", "List-Post", "List-Unsubscribe", "List-Help",
                               "List-Subscribe", "List-Owner", "List-Archive"}) {
        if (find_header(headers, h)) {
            return reply_decision::list;
        }
    }
    if (auto v = find_header(headers, "Precedence")) {
        auto p = ascii_lower(trim(*v));
        if (p == "bulk" || p == "list" || p == "junk") {
            return reply_decision::bulk;
        }
    }
    if (auto v = find_header(headers, "X-Auto-Response-Suppress")) {
        auto p = ascii_lower(*v);
        if (p.find("oof") != std::string::npos || p.find("all") != std::string::npos) {
            return reply_decision::suppressed;
        }
    }
    for (const auto& h : headers) {
        for (std::string_view name : {"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"}) {
            if (!iequals(h.name, name)) {
                continue;
            }
            for (const auto& a : header_addresses(h.value)) {
                for (const auto& own : in.own_addresses) {
                    if (iequals(a, own) || iequals(strip_extension(a), strip_extension(own))) {
                        return reply_decision::reply;
                    }
                }
            }
        }
    }
    return reply_decision::not_addressed;
}

namespace {

bool is_ascii(std::string_view s) {
    for (unsigned char c : s) {
        if (c >= 0x80) {
            return false;
        }
    }
    return true;
}

// RFC 2047 B-encoding in chunks that keep UTF-8 sequences whole.
std::string encode_word(std::string_view s) {
    static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
        size_t n = std::min<size_t>(45, s.size() - i);
        while (i + n < s.size() && n > 0 && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) {
            --n;
        }
        if (n == 0) {
            n = std::min<size_t>(45, s.size() - i);
        }
        std::string_view chunk = s.substr(i, n);
        i += n;
        if (!out.empty()) {
            out += "\n ";
        }
        out += "=?UTF-8?B?";
        for (size_t j = 0; j < chunk.size(); j += 3) {
            uint32_t v = static_cast<unsigned char>(chunk[j]) << 16;
            if (j + 1 < chunk.size()) {
                v |= static_cast<unsigned char>(chunk[j + 1]) << 8;
            }
            if (j + 2 < chunk.size()) {
                v |= static_cast<unsigned char>(chunk[j + 2]);
            }
            out += b64[(v >> 18) & 63];
            out += b64[(v >> 12) & 63];
            out += j + 1 < chunk.size() ? b64[(v >> 6) & 63] : '=';
            out += j + 2 < chunk.size() ? b64[v & 63] : '=';
        }
        out += "?=";
    }
    return out;
}

std::string one_line(std::string_view s) {
    std::string out;
    for (char c : s) {
        out += (c == '\r' || c == '\n') ? ' ' : c;
    }
    return out;
}

}  // namespace

std::string compose_reply(const reply_content& c, const std::vector<header_field>& original) {
    std::string subject = one_line(c.subject);
    if (subject.empty()) {
        subject = "Auto: " + one_line(find_header(original, "Subject").value_or(""));
    }
    char date[64];
    std::tm tm{};
    ::gmtime_r(&c.now, &tm);
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    std::mt19937_64 gen{std::random_device{}()};
    std::string msg;
    msg += "From: <" + one_line(c.from) + ">\n";
    msg += "To: <" + one_line(c.to) + ">\n";
    msg += "Subject: " + (is_ascii(subject) ? subject : encode_word(subject)) + "\n";
    msg += std::string("Date: ") + date + "\n";
    msg += "Message-ID: <" + std::to_string(c.now) + "." + std::to_string(gen() % 1000000007) +
           ".vacation@" + one_line(c.hostname) + ">\n";
    auto id = find_header(original, "Message-ID");
    if (id) {
        msg += "In-Reply-To: " + one_line(*id) + "\n";
        auto refs = find_header(original, "References");
        if (!refs) {
            refs = find_header(original, "In-Reply-To");
        }
        msg += "References: " + (refs ? one_line(*refs) + " " : std::string()) + one_line(*id) +
               "\n";
    }
    msg += "Auto-Submitted: auto-replied\n";
    msg += "Precedence: bulk\n";
    msg += "MIME-Version: 1.0\n";
    msg += "Content-Type: text/plain; charset=UTF-8\n";
    msg += "Content-Transfer-Encoding: 8bit\n\n";
    for (char ch : c.body) {
        if (ch != '\r') {
            msg += ch;
        }
    }
    if (msg.back() != '\n') {
        msg += '\n';
    }
    return msg;
}

}  // namespace vhostmail::deliver
