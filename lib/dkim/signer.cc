// SPDX-License-Identifier: Apache-2.0
#include "lib/dkim/signer.hh"

#include <cstring>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "lib/core/encoding.hh"
#include "lib/os/secret_file.hh"

namespace vhostmail::dkim {

namespace {

constexpr size_t max_key_file = 64 * 1024;

struct pkey_ctx_free {
    void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

struct md_ctx_free {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

struct bio_free {
    void operator()(BIO* b) const { BIO_free(b); }
};

int expected_type(algorithm a) {
    return a == algorithm::rsa_sha256 ? EVP_PKEY_RSA : EVP_PKEY_ED25519;
}

std::string sha256(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(md), len);
}

}  // namespace

private_key::~private_key() {
    EVP_PKEY_free(key_);
}

std::string private_key::sign_digest(std::string_view digest) const {
    if (alg_ == algorithm::rsa_sha256) {
        std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> ctx(EVP_PKEY_CTX_new(key_, nullptr));
        size_t len = 0;
        if (!ctx || EVP_PKEY_sign_init(ctx.get()) <= 0 ||
            EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) <= 0 ||
            EVP_PKEY_CTX_set_signature_md(ctx.get(), EVP_sha256()) <= 0 ||
            EVP_PKEY_sign(ctx.get(), nullptr, &len,
                          reinterpret_cast<const unsigned char*>(digest.data()),
                          digest.size()) <= 0) {
            return {};
        }
        std::string sig(len, '\0');
        if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                          reinterpret_cast<const unsigned char*>(digest.data()),
                          digest.size()) <= 0) {
            return {};
        }
        sig.resize(len);
        return sig;
    }
    std::unique_ptr<EVP_MD_CTX, md_ctx_free> md(EVP_MD_CTX_new());
    size_t len = 64;
    std::string sig(len, '\0');
    if (!md || EVP_DigestSignInit(md.get(), nullptr, nullptr, nullptr, key_) <= 0 ||
        EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       reinterpret_cast<const unsigned char*>(digest.data()), digest.size()) <= 0) {
        return {};
    }
    sig.resize(len);
    return sig;
}

std::string private_key::public_key_base64() const {
    if (alg_ == algorithm::ed25519_sha256) {
        unsigned char raw[32];
        size_t len = sizeof raw;
        if (EVP_PKEY_get_raw_public_key(key_, raw, &len) <= 0) {
            return {};
        }
        return base64_encode(std::string_view(reinterpret_cast<char*>(raw), len));
    }
    int len = i2d_PUBKEY(key_, nullptr);
    if (len <= 0) {
        return {};
    }
    std::string der(static_cast<size_t>(len), '\0');
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    i2d_PUBKEY(key_, &p);
    return base64_encode(der);
}

key_load private_key_from_pem(std::string_view pem, algorithm a) {
    std::unique_ptr<BIO, bio_free> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    EVP_PKEY* key = bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr) : nullptr;
    if (!key) {
        return {nullptr, "not a PEM private key"};
    }
    if (EVP_PKEY_base_id(key) != expected_type(a)) {
        EVP_PKEY_free(key);
        return {nullptr, "not an " + std::string(key_type(a)) + " key"};
    }
    if (a == algorithm::rsa_sha256 && EVP_PKEY_bits(key) < 1024) {
        EVP_PKEY_free(key);
        return {nullptr, "RSA key shorter than 1024 bits (RFC 8301)"};
    }
    return {std::make_shared<private_key>(a, key), ""};
}

key_load load_private_key(const std::string& path, algorithm a) {
    auto file = os::read_secret_file(path, max_key_file);
    if (!file.error.empty()) {
        return {nullptr, file.error};
    }
    std::string& pem = file.text;
    auto loaded = private_key_from_pem(pem, a);
    OPENSSL_cleanse(pem.data(), pem.size());
    if (!loaded.key) {
        loaded.error = path + ": " + loaded.error;
    }
    return loaded;
}

generated_key generate_key(algorithm a, int rsa_bits) {
    generated_key out;
    std::unique_ptr<EVP_PKEY_CTX, pkey_ctx_free> ctx(
        EVP_PKEY_CTX_new_id(expected_type(a), nullptr));
    EVP_PKEY* key = nullptr;
    if (!ctx || EVP_PKEY_keygen_init(ctx.get()) <= 0 ||
        (a == algorithm::rsa_sha256 &&
         EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), rsa_bits) <= 0) ||
        EVP_PKEY_keygen(ctx.get(), &key) <= 0) {
        out.error = "key generation failed";
        return out;
    }
    auto owned = std::make_shared<private_key>(a, key);
    std::unique_ptr<BIO, bio_free> bio(BIO_new(BIO_s_mem()));
    if (!bio ||
        PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) <= 0) {
        out.error = "cannot write the key as PEM";
        return out;
    }
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    out.pem.assign(data, static_cast<size_t>(len));
    out.key = std::move(owned);
    return out;
}

std::string dns_record(algorithm a, std::string_view public_key_base64) {
    return "v=DKIM1; k=" + std::string(key_type(a)) + "; p=" + std::string(public_key_base64);
}

message_signer::message_signer(canon_pair c) : c_(c), body_(c.body), body_ctx_(EVP_MD_CTX_new()) {
    if (body_ctx_) {
        EVP_DigestInit_ex(body_ctx_, EVP_sha256(), nullptr);
    }
}

message_signer::~message_signer() {
    EVP_MD_CTX_free(body_ctx_);
}

bool message_signer::add_header(std::string_view name, std::string_view value) {
    if (!signed_header_name(name)) {
        return true;
    }
    if (header_bytes_ + name.size() + value.size() > max_signed_header_bytes) {
        return false;
    }
    header_bytes_ += name.size() + value.size();
    headers_.push_back({std::string(name), std::string(value)});
    return true;
}

void message_signer::add_body(std::string_view chunk) {
    scratch_.clear();
    body_.feed(chunk, scratch_);
    if (body_ctx_) {
        EVP_DigestUpdate(body_ctx_, scratch_.data(), scratch_.size());
    }
}

const std::string& message_signer::body_hash() {
    if (body_hash_.empty() && body_ctx_) {
        scratch_.clear();
        body_.finish(scratch_);
        EVP_DigestUpdate(body_ctx_, scratch_.data(), scratch_.size());
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        if (EVP_DigestFinal_ex(body_ctx_, md, &len) > 0) {
            body_hash_ = base64_encode(std::string_view(reinterpret_cast<char*>(md), len));
        }
    }
    return body_hash_;
}

std::string message_signer::sign(const private_key& key, std::string_view domain,
                                 std::string_view selector, std::time_t now) {
    const std::string& bh = body_hash();
    if (bh.empty()) {
        return {};
    }
    auto selected = select_headers(headers_, c_.header);
    signature_tags tags{.alg = key.alg(),
                        .c = c_,
                        .domain = std::string(domain),
                        .selector = std::string(selector),
                        .timestamp = now,
                        .h_tag = selected.h_tag,
                        .body_hash = bh};
    std::string value = unsigned_signature_value(tags);
    // The signature field itself, b= empty, without its CRLF, ends the signed data.
    std::string data = std::move(selected.canonical);
    canonicalize_header(c_.header, "DKIM-Signature", value, data);
    data.resize(data.size() - 2);
    std::string sig = key.sign_digest(sha256(data));
    if (sig.empty()) {
        return {};
    }
    return signed_signature_value(std::move(value), base64_encode(sig));
}

}  // namespace vhostmail::dkim
