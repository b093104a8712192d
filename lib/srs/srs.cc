// SPDX-License-Identifier: Apache-2.0
#include "lib/srs/srs.hh"

#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "lib/core/address.hh"
#include "lib/core/encoding.hh"
#include "lib/core/strings.hh"

namespace vhostmail::srs {

namespace {

constexpr std::string_view base32_chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr int64_t day_seconds = 86400;
constexpr unsigned time_slots = 1024;  // two base32 characters
constexpr size_t max_address = 1000;
constexpr size_t max_hash_length = 27;  // base64 of a 20-byte digest, without its padding

bool is_separator(char c) {
    return c == '=' || c == '-' || c == '+';
}

// "SRS0" or "SRS1" (any case) followed by a separator: the tag's digit, else 0.
char srs_tag(std::string_view local) {
    if (local.size() < 5 || !iequals(local.substr(0, 3), "SRS") || !is_separator(local[4])) {
        return 0;
    }
    return local[3] == '0' || local[3] == '1' ? local[3] : 0;
}

// Splits `rest` at its first '=' into a non-empty head and what follows; nullopt when there is
// no '=' or the head is empty.
std::optional<std::pair<std::string_view, std::string_view>> cut(std::string_view rest) {
    auto eq = rest.find('=');
    if (eq == std::string_view::npos || eq == 0) {
        return std::nullopt;
    }
    return std::pair{rest.substr(0, eq), rest.substr(eq + 1)};
}

// hop and the rest after it, of an SRS1 local part (after "SRS1" and its separator): the hash
// is skipped. nullopt when a field is missing.
struct srs1_fields {
    std::string_view hash, hop, rest;
};

std::optional<srs1_fields> parse_srs1(std::string_view after_tag) {
    auto h = cut(after_tag);
    if (!h) {
        return std::nullopt;
    }
    auto hop = cut(h->second);
    if (!hop || hop->second.empty()) {
        return std::nullopt;
    }
    return srs1_fields{h->first, hop->first, hop->second};
}

std::optional<unsigned> timestamp_value(std::string_view stamp) {
    if (stamp.size() != 2) {
        return std::nullopt;
    }
    unsigned v = 0;
    for (char c : stamp) {
        auto at = base32_chars.find(static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c));
        if (at == std::string_view::npos) {
            return std::nullopt;
        }
        v = (v << 5) | static_cast<unsigned>(at);
    }
    return v;
}

unsigned day_slot(std::time_t now) {
    return static_cast<unsigned>((static_cast<int64_t>(now) / day_seconds) % time_slots);
}

}  // namespace

std::string_view describe(reverse_status s) {
    switch (s) {
        case reverse_status::ok:
            return "valid";
        case reverse_status::not_srs:
            return "not an SRS address";
        case reverse_status::other_domain:
            return "not in the SRS domain";
        case reverse_status::malformed:
            return "malformed SRS address";
        case reverse_status::expired:
            return "timestamp out of date";
        case reverse_status::bad_hash:
            return "hash invalid (forged or damaged)";
    }
    return "?";
}

std::string timestamp(std::time_t now) {
    unsigned slot = day_slot(now);
    return {base32_chars[(slot >> 5) & 31], base32_chars[slot & 31]};
}

codec::codec(settings s, std::vector<std::string> secrets)
    : settings_(std::move(s)), secrets_(std::move(secrets)) {
    if (secrets_.empty()) {
        throw std::invalid_argument("no SRS secret");
    }
    auto domain = normalize_domain(settings_.domain);
    if (!domain) {
        throw std::invalid_argument("invalid SRS domain \"" + settings_.domain + "\"");
    }
    settings_.domain = *domain;
    if (!is_separator(settings_.separator)) {
        throw std::invalid_argument("the SRS separator must be one of = - +");
    }
    if (settings_.hash_length < 1 || settings_.hash_length > max_hash_length ||
        settings_.hash_min < 1 || settings_.hash_min > settings_.hash_length) {
        throw std::invalid_argument("SRS hash lengths: 1 <= minimum <= length <= 27");
    }
}

codec::~codec() {
    for (auto& s : secrets_) {
        OPENSSL_cleanse(s.data(), s.size());
    }
}

std::string codec::hash(size_t index, std::initializer_list<std::string_view> fields) const {
    std::string data;
    for (auto f : fields) {
        data += ascii_lower(f);
    }
    const std::string& key = secrets_[index];
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_size = 0;
    HMAC(EVP_sha1(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest, &digest_size);
    std::string encoded =
        base64_encode(std::string_view(reinterpret_cast<const char*>(digest), digest_size));
    return encoded.substr(0, settings_.hash_length);
}

bool codec::hash_matches(std::string_view given,
                         std::initializer_list<std::string_view> fields) const {
    if (given.size() < settings_.hash_min || given.size() > settings_.hash_length) {
        return false;
    }
    const std::string wanted = ascii_lower(given);
    bool any = false;
    // Every secret is tried, and compared in full: the time taken says nothing of which secret
    // or how many characters matched.
    for (size_t i = 0; i < secrets_.size(); ++i) {
        std::string expected = ascii_lower(hash(i, fields)).substr(0, wanted.size());
        any |= CRYPTO_memcmp(expected.data(), wanted.data(), wanted.size()) == 0;
    }
    return any;
}

std::optional<std::string> codec::forward(std::string_view sender, std::time_t now) const {
    auto parts = split_address(sender);
    if (!parts.has_at || parts.local.empty() || parts.domain.empty() ||
        parts.domain.find('=') != std::string::npos || iequals(parts.domain, settings_.domain)) {
        return std::nullopt;
    }
    for (const auto& excluded : settings_.exclude_domains) {
        if (iequals(parts.domain, excluded) ||
            (excluded.starts_with('.') && ends_with_icase(parts.domain, excluded))) {
            return std::nullopt;
        }
    }
    std::string out;
    const char sep = settings_.separator;
    switch (srs_tag(parts.local)) {
        case '1': {
            auto f = parse_srs1(std::string_view(parts.local).substr(5));
            if (!f) {
                return std::nullopt;
            }
            out = "SRS1" + std::string(1, sep) + hash(0, {f->hop, f->rest}) + "=" +
                  std::string(f->hop) + "=" + std::string(f->rest);
            break;
        }
        case '0': {
            // Another forwarder's SRS0: kept whole behind its host, so the bounce goes there.
            std::string_view rest = std::string_view(parts.local).substr(4);
            out = "SRS1" + std::string(1, sep) + hash(0, {parts.domain, rest}) + "=" +
                  parts.domain + "=" + std::string(rest);
            break;
        }
        default: {
            std::string stamp = timestamp(now);
            out = "SRS0" + std::string(1, sep) + hash(0, {stamp, parts.domain, parts.local}) + "=" +
                  stamp + "=" + parts.domain + "=" + parts.local;
        }
    }
    out += "@" + settings_.domain;
    if (out.size() > max_address) {
        return std::nullopt;
    }
    return out;
}

reversed codec::reverse(std::string_view address, std::time_t now) const {
    auto parts = split_address(address);
    const char tag = srs_tag(parts.local);
    if (!parts.has_at || tag == 0) {
        return {reverse_status::not_srs, {}};
    }
    if (!iequals(parts.domain, settings_.domain)) {
        return {reverse_status::other_domain, {}};
    }
    std::string_view after_tag = std::string_view(parts.local).substr(5);
    if (tag == '1') {
        auto f = parse_srs1(after_tag);
        if (!f) {
            return {reverse_status::malformed, {}};
        }
        if (!hash_matches(f->hash, {f->hop, f->rest})) {
            return {reverse_status::bad_hash, {}};
        }
        return {reverse_status::ok, "SRS0" + std::string(f->rest) + "@" + std::string(f->hop)};
    }
    auto h = cut(after_tag);
    auto stamp = h ? cut(h->second) : std::nullopt;
    auto host = stamp ? cut(stamp->second) : std::nullopt;
    if (!host || host->second.empty()) {
        return {reverse_status::malformed, {}};
    }
    auto then = timestamp_value(stamp->first);
    if (!then) {
        return {reverse_status::malformed, {}};
    }
    unsigned age = (day_slot(now) + time_slots - *then) % time_slots;
    if (age > settings_.max_age_days) {
        return {reverse_status::expired, {}};
    }
    if (!hash_matches(h->first, {stamp->first, host->first, host->second})) {
        return {reverse_status::bad_hash, {}};
    }
    return {reverse_status::ok, std::string(host->second) + "@" + std::string(host->first)};
}

std::vector<std::string> parse_secrets(std::string_view text) {
    std::vector<std::string> out;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        if (!line.empty()) {
            out.emplace_back(line);
        }
    }
    return out;
}

}  // namespace vhostmail::srs
