// SPDX-License-Identifier: Apache-2.0
#include "lib/dkim/signature.hh"

#include <array>

#include "lib/core/strings.hh"

namespace vhostmail::dkim {

namespace {

constexpr std::array signed_names = {
    "from",         "reply-to",   "subject",          "date",
    "to",           "cc",         "resent-date",      "resent-from",
    "resent-to",    "resent-cc",  "in-reply-to",      "references",
    "list-id",      "list-help",  "list-unsubscribe", "list-subscribe",
    "list-post",    "list-owner", "list-archive",     "message-id",
    "mime-version",
};

constexpr size_t fold_width = 76;

// Appends `piece` to the current line of `out`, starting a continuation line first when the
// line would grow past the fold width.
void append_folded(std::string& out, size_t& line_length, std::string_view piece) {
    if (line_length > 1 && line_length + piece.size() > fold_width) {
        out.append("\r\n\t");
        line_length = 1;
        if (piece.starts_with(' ')) {
            piece.remove_prefix(1);  // the fold's tab separates the tags already
        }
    }
    out.append(piece);
    line_length += piece.size();
}

}  // namespace

std::string_view algorithm_name(algorithm a) {
    return a == algorithm::rsa_sha256 ? "rsa-sha256" : "ed25519-sha256";
}

std::optional<algorithm> parse_algorithm(std::string_view text) {
    if (iequals(text, "rsa") || iequals(text, "rsa-sha256")) {
        return algorithm::rsa_sha256;
    }
    if (iequals(text, "ed25519") || iequals(text, "ed25519-sha256")) {
        return algorithm::ed25519_sha256;
    }
    return std::nullopt;
}

std::string_view key_type(algorithm a) {
    return a == algorithm::rsa_sha256 ? "rsa" : "ed25519";
}

bool signed_header_name(std::string_view name) {
    if (starts_with_icase(name, "content-")) {
        return true;
    }
    for (const char* n : signed_names) {
        if (iequals(name, n)) {
            return true;
        }
    }
    return false;
}

header_selection select_headers(const std::vector<header_field>& fields, canon c) {
    header_selection s;
    // Bottom-up: a verifier takes a name's instances from the last one up (RFC 6376 5.4.2).
    for (auto it = fields.rbegin(); it != fields.rend(); ++it) {
        if (!signed_header_name(it->name)) {
            continue;
        }
        if (!s.h_tag.empty()) {
            s.h_tag.push_back(':');
        }
        s.h_tag += ascii_lower(it->name);
        canonicalize_header(c, it->name, it->value, s.canonical);
    }
    s.h_tag = s.h_tag.empty() ? "from" : s.h_tag + ":from";  // the over-signed From
    return s;
}

std::string unsigned_signature_value(const signature_tags& t) {
    std::string out = " ";
    size_t line = 1;
    append_folded(out, line, "v=1;");
    append_folded(out, line, " a=" + std::string(algorithm_name(t.alg)) + ";");
    append_folded(out, line, " c=" + canon_text(t.c) + ";");
    append_folded(out, line, " d=" + t.domain + ";");
    append_folded(out, line, " s=" + t.selector + ";");
    append_folded(out, line, " t=" + std::to_string(static_cast<long long>(t.timestamp)) + ";");
    // h= may be longer than a line: break it after a colon.
    std::string_view h = t.h_tag;
    std::string piece = " h=";
    while (!h.empty()) {
        size_t colon = h.find(':');
        size_t take = colon == std::string_view::npos ? h.size() : colon + 1;
        piece.append(h.substr(0, take));
        h.remove_prefix(take);
        if (h.empty()) {
            piece.push_back(';');
        }
        append_folded(out, line, piece);
        piece.clear();
    }
    append_folded(out, line, " bh=" + t.body_hash + ";");
    append_folded(out, line, " b=");
    return out;
}

std::string signed_signature_value(std::string unsigned_value, std::string_view b64) {
    size_t last_line = unsigned_value.rfind('\n');
    size_t line = unsigned_value.size() - (last_line == std::string::npos ? 0 : last_line + 1);
    constexpr size_t chunk = 64;
    for (size_t i = 0; i < b64.size(); i += chunk) {
        append_folded(unsigned_value, line, b64.substr(i, chunk));
    }
    return unsigned_value;
}

std::string lf_folded(std::string_view value) {
    std::string out;
    out.reserve(value.size());
    for (size_t i = 0; i < value.size(); ++i) {
        if (value[i] == '\r' && i + 1 < value.size() && value[i + 1] == '\n') {
            continue;
        }
        out.push_back(value[i]);
    }
    return out;
}

}  // namespace vhostmail::dkim
