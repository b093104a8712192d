// SPDX-License-Identifier: Apache-2.0
// srs.hh - the Sender Rewriting Scheme in the form Debian's postsrsd (1.x, libsrs2's scheme)
// writes and reads, so that an admin can switch with bounces in flight (docs/srs.md):
//   SRS0=HHHH=TT=domain=local@srs-domain           a sender rewritten here
//   SRS1=HHHH=hop==HHHH=TT=domain=local@srs-domain  one another forwarder (at `hop`) had
//                                                   rewritten before it reached us
// HHHH is the start of base64(HMAC-SHA1(secret, the lower-cased fields, concatenated)): of the
// timestamp, domain and local part for SRS0; of the hop and the rest after it for SRS1. TT is the
// day (seconds since the epoch / 86400, mod 1024) in two base32 characters. The separator right
// after SRS0/SRS1 may be '=', '-' or '+' (postsrsd -a); every other one is '='.
// A hash is compared without regard to case (Postfix folds lookup keys to lower case) and in
// constant time. Pure apart from the HMAC (OpenSSL); reentrant.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vhostmail::srs {

struct settings {
    std::string domain;          // rewritten senders are @domain (lower case)
    char separator = '=';        // written after SRS0/SRS1 (postsrsd -a)
    unsigned hash_length = 4;    // hash characters written (postsrsd -n)
    unsigned hash_min = 4;       // fewest accepted when reading (postsrsd -N)
    unsigned max_age_days = 21;  // how long an address is good for a bounce
    // Sender domains never rewritten (postsrsd -X): "example.org", or ".example.org" for its
    // subdomains too.
    std::vector<std::string> exclude_domains;
};

enum class reverse_status {
    ok,
    not_srs,       // no SRS0/SRS1 local part
    other_domain,  // an SRS local part, not in our SRS domain
    malformed,     // a field missing, or a timestamp that is not two base32 characters
    expired,       // older than max_age_days, or from the future
    bad_hash,      // not signed with any of our secrets (forged, or damaged)
};

std::string_view describe(reverse_status s);

struct reversed {
    reverse_status status = reverse_status::not_srs;
    std::string address;  // when ok: the original sender (SRS0), or the previous hop's (SRS1)
};

class codec {
public:
    // `secrets`: the first signs, all verify (postsrsd's secret file, in order). Throws
    // std::invalid_argument when there is none, or the settings cannot be written (an empty or
    // invalid domain, a separator other than = - +, hash lengths outside 1..27 or min > length).
    codec(settings s, std::vector<std::string> secrets);
    ~codec();
    codec(const codec&) = delete;
    codec& operator=(const codec&) = delete;

    // The SRS form of `sender` at `now`; nullopt when it is not rewritten: not local@domain, a
    // domain with '=' in it, already in the SRS domain (our own SRS addresses among them), an
    // excluded domain, a malformed SRS1 local part, or a result longer than 1000 bytes.
    std::optional<std::string> forward(std::string_view sender, std::time_t now) const;

    // What an SRS address of ours stands for, checked against `now`.
    reversed reverse(std::string_view address, std::time_t now) const;

    const settings& config() const { return settings_; }

private:
    // The first `length` characters of the hash of `fields` with secret `index`.
    std::string hash(size_t index, std::initializer_list<std::string_view> fields) const;
    bool hash_matches(std::string_view given, std::initializer_list<std::string_view> fields) const;

    settings settings_;
    std::vector<std::string> secrets_;
};

// Reads postsrsd's secret file: every line is a secret (a trailing CR dropped), empty lines are
// skipped, the first signs. Empty when there is none.
std::vector<std::string> parse_secrets(std::string_view text);

// The timestamp written at `now` (two base32 characters).
std::string timestamp(std::time_t now);

}  // namespace vhostmail::srs
