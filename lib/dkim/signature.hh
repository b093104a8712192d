// SPDX-License-Identifier: Apache-2.0
// signature.hh - the text of a DKIM-Signature field (RFC 6376 3.5) and the choice of the header
// fields it covers; the hashing and signing are signer.hh's. Pure, reentrant.
//
// Signed fields: RFC 6376 5.4.1's recommended list plus Message-ID, MIME-Version and every
// Content-* field, each instance present; From is over-signed (listed once more than it
// occurs), so a From added later breaks the signature instead of being shown as the author.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/dkim/canon.hh"

namespace vhostmail::dkim {

enum class algorithm { rsa_sha256, ed25519_sha256 };

// "rsa-sha256" / "ed25519-sha256" (the a= tag).
std::string_view algorithm_name(algorithm a);
// The a= names, or the key types "rsa" and "ed25519".
std::optional<algorithm> parse_algorithm(std::string_view text);
// The k= tag of the DNS record: "rsa" / "ed25519".
std::string_view key_type(algorithm a);

bool signed_header_name(std::string_view name);

struct header_field {
    std::string name;
    std::string value;  // as after the colon, leading whitespace kept
};

struct header_selection {
    std::string h_tag;      // "from:from:subject:..."
    std::string canonical;  // the selected fields, canonicalized, in h= order
};

// From the message's fields in message order (fields not signed may be left out).
header_selection select_headers(const std::vector<header_field>& fields, canon c);

struct signature_tags {
    algorithm alg = algorithm::rsa_sha256;
    canon_pair c;
    std::string domain;    // d=
    std::string selector;  // s=
    std::time_t timestamp = 0;
    std::string h_tag;
    std::string body_hash;  // bh=, base64
};

// The field's value with an empty b= at its end: leading space, lines folded with CRLF TAB.
std::string unsigned_signature_value(const signature_tags& t);

// The value with the base64 signature appended after "b=", folded.
std::string signed_signature_value(std::string unsigned_value, std::string_view b64);

// A signed value's line ends for a milter (LF folding; the MTA writes CRLF).
std::string lf_folded(std::string_view value);

}  // namespace vhostmail::dkim
