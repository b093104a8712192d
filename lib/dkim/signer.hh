// SPDX-License-Identifier: Apache-2.0
// signer.hh - DKIM signing with OpenSSL (RFC 6376 rsa-sha256, RFC 8463 ed25519-sha256): private
// keys, key generation and the DNS record of a public key, and message_signer, which hashes a
// message as it streams past (headers kept only when they are signed; the body hashed chunk by
// chunk, never stored).
// Thread safety: a private_key may be shared by threads; a message_signer belongs to one.
#pragma once

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/dkim/canon.hh"
#include "lib/dkim/signature.hh"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct evp_md_ctx_st EVP_MD_CTX;

namespace vhostmail::dkim {

class private_key {
public:
    private_key(algorithm a, EVP_PKEY* key) : alg_(a), key_(key) {}  // takes the key

    ~private_key();
    private_key(const private_key&) = delete;
    private_key& operator=(const private_key&) = delete;

    algorithm alg() const { return alg_; }

    // The signature of a SHA-256 digest: RSASSA-PKCS1-v1_5 for rsa-sha256, Ed25519 over the
    // digest for ed25519-sha256 (RFC 8463 3). Empty when OpenSSL fails.
    std::string sign_digest(std::string_view digest) const;
    // The p= value of the DNS record: base64 of the SubjectPublicKeyInfo (RSA) or of the raw
    // 32-byte key (Ed25519).
    std::string public_key_base64() const;

private:
    algorithm alg_;
    EVP_PKEY* key_;
};

struct key_load {
    std::shared_ptr<const private_key> key;
    std::string error;  // when key is null
};

// Reads a PEM private key of algorithm `a`. Like OpenDKIM, refuses a file that others may read
// or that its group may write, or that is owned by neither root nor this process's user.
key_load load_private_key(const std::string& path, algorithm a);

// The same from PEM text (no file checks).
key_load private_key_from_pem(std::string_view pem, algorithm a);

struct generated_key {
    std::string pem;  // PKCS#8 PEM of the private key
    std::shared_ptr<const private_key> key;
    std::string error;
};

// A new key: RSA of `rsa_bits` bits, or Ed25519.
generated_key generate_key(algorithm a, int rsa_bits = 2048);

// "v=DKIM1; k=rsa; p=..." for a p= value.
std::string dns_record(algorithm a, std::string_view public_key_base64);

// Hashes one message for signing with any number of keys under one canonicalization.
// The signed header fields one message may bring (what a message_signer keeps); real messages
// sign a few kilobytes.
inline constexpr size_t max_signed_header_bytes = 1 << 20;

class message_signer {
public:
    explicit message_signer(canon_pair c);
    ~message_signer();
    message_signer(const message_signer&) = delete;
    message_signer& operator=(const message_signer&) = delete;

    // Header fields in message order; fields that are not signed are not kept. false (and the
    // field not kept) once the kept fields would exceed max_signed_header_bytes.
    bool add_header(std::string_view name, std::string_view value);
    void add_body(std::string_view chunk);

    // The DKIM-Signature value (leading space, CRLF folding) for d=`domain`, s=`selector`.
    // Empty when signing failed (OpenSSL error): the caller must not send the message unsigned.
    std::string sign(const private_key& key, std::string_view domain, std::string_view selector,
                     std::time_t now);

private:
    const std::string& body_hash();

    canon_pair c_;
    std::vector<header_field> headers_;
    size_t header_bytes_ = 0;
    body_canonicalizer body_;
    EVP_MD_CTX* body_ctx_;
    std::string scratch_;
    std::string body_hash_;  // base64, once the body has ended
};

}  // namespace vhostmail::dkim
