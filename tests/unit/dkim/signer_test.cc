// SPDX-License-Identifier: Apache-2.0
// Signing round trips verified here with OpenSSL's verify primitives over the same signed data;
// the signatures are verified by python3-dkim and OpenDKIM in tests/integration/milter.
#include "lib/dkim/signer.hh"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "lib/core/encoding.hh"

using namespace vhostmail;
using namespace vhostmail::dkim;

namespace {

std::string tag(std::string_view value, std::string_view name) {
    std::string unfolded;
    for (char c : value) {
        if (c != '\r' && c != '\n' && c != '\t' && c != ' ') {
            unfolded.push_back(c);
        }
    }
    auto at = unfolded.find(std::string(name) + "=");
    REQUIRE(at != std::string::npos);
    at += name.size() + 1;
    auto end = unfolded.find(';', at);
    return unfolded.substr(at, end == std::string::npos ? std::string::npos : end - at);
}

std::string sha256(std::string_view data) {
    unsigned char md[32];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return std::string(reinterpret_cast<char*>(md), len);
}

// The data a verifier hashes for `value` (b= emptied), under relaxed header canonicalization.
std::string signed_data(const std::vector<header_field>& fields, std::string_view value) {
    auto sel = select_headers(fields, canon::relaxed);
    std::string v(value);
    auto b = v.rfind("b=");
    v.resize(b + 2);
    std::string data = sel.canonical;
    canonicalize_header(canon::relaxed, "DKIM-Signature", v, data);
    data.resize(data.size() - 2);
    return data;
}

bool verify(algorithm a, std::string_view p, std::string_view digest, std::string_view sig) {
    auto der = base64_decode(p);
    REQUIRE(der);
    EVP_PKEY* key = nullptr;
    if (a == algorithm::ed25519_sha256) {
        key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                          reinterpret_cast<const unsigned char*>(der->data()),
                                          der->size());
    } else {
        const auto* in = reinterpret_cast<const unsigned char*>(der->data());
        key = d2i_PUBKEY(nullptr, &in, static_cast<long>(der->size()));
    }
    REQUIRE(key);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    bool ok = false;
    if (a == algorithm::ed25519_sha256) {
        ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) > 0 &&
             EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                              reinterpret_cast<const unsigned char*>(digest.data()),
                              digest.size()) == 1;
    } else {
        EVP_PKEY_CTX* pctx = EVP_PKEY_CTX_new(key, nullptr);
        ok = EVP_PKEY_verify_init(pctx) > 0 &&
             EVP_PKEY_CTX_set_signature_md(pctx, EVP_sha256()) > 0 &&
             EVP_PKEY_verify(pctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(digest.data()),
                             digest.size()) == 1;
        EVP_PKEY_CTX_free(pctx);
    }
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}

}  // namespace

TEST_CASE("signatures over the canonical data verify with the published key") {
    for (algorithm a : {algorithm::rsa_sha256, algorithm::ed25519_sha256}) {
        auto generated = generate_key(a);
        REQUIRE(generated.key);
        auto reloaded = private_key_from_pem(generated.pem, a);
        REQUIRE(reloaded.key);
        std::string p = reloaded.key->public_key_base64();
        CHECK(p == generated.key->public_key_base64());
        CHECK(dns_record(a, p).starts_with("v=DKIM1; k=" + std::string(key_type(a)) + "; p="));

        const std::vector<header_field> fields = {{"Received", " from x"},
                                                  {"From", " Joe <joe@example.org>"},
                                                  {"To", " a@example.net"},
                                                  {"Subject", " hi\n\tthere"},
                                                  {"X-Other", " not signed"}};
        message_signer signer({canon::relaxed, canon::relaxed});
        for (const auto& f : fields) {
            signer.add_header(f.name, f.value);
        }
        signer.add_body("Hello \r\n");
        signer.add_body("world\r\n\r\n");
        std::string value = signer.sign(*reloaded.key, "example.org", "sel", 1700000000);
        REQUIRE(!value.empty());
        CHECK(tag(value, "a") == algorithm_name(a));
        CHECK(tag(value, "d") == "example.org");
        CHECK(tag(value, "s") == "sel");
        CHECK(tag(value, "t") == "1700000000");
        CHECK(tag(value, "h") == "subject:to:from:from");
        CHECK(tag(value, "bh") == base64_encode(sha256("Hello\r\nworld\r\n")));
        for (size_t at = 0, next; at < value.size(); at = next + 1) {
            next = value.find('\n', at);
            if (next == std::string::npos) {
                next = value.size();
            }
            CHECK(next - at <= 78);
        }
        auto sig = base64_decode(tag(value, "b"));
        REQUIRE(sig);
        std::string digest = sha256(signed_data(fields, value));
        CHECK(verify(a, p, digest, *sig));
        std::string tampered = digest;
        tampered[0] ^= 1;
        CHECK_FALSE(verify(a, p, tampered, *sig));
    }
}

TEST_CASE("keys of the wrong type or unreadable are refused") {
    auto rsa = generate_key(algorithm::rsa_sha256);
    CHECK(private_key_from_pem(rsa.pem, algorithm::ed25519_sha256).error == "not an ed25519 key");
    CHECK(private_key_from_pem("junk", algorithm::rsa_sha256).error == "not a PEM private key");
    CHECK(load_private_key("/nonexistent/key", algorithm::rsa_sha256).error.find("No such file") !=
          std::string::npos);
}

TEST_CASE("a key file others may read is refused, as OpenDKIM refuses it") {
    auto ed = generate_key(algorithm::ed25519_sha256);
    char path[] = "/tmp/dkim_key_test_XXXXXX";
    int fd = mkstemp(path);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, ed.pem.data(), ed.pem.size()) == static_cast<ssize_t>(ed.pem.size()));
    close(fd);
    REQUIRE(chmod(path, 0640) == 0);
    CHECK(load_private_key(path, algorithm::ed25519_sha256).key);
    REQUIRE(chmod(path, 0644) == 0);
    auto refused = load_private_key(path, algorithm::ed25519_sha256);
    CHECK_FALSE(refused.key);
    CHECK(refused.error.find("mode 644") != std::string::npos);
    REQUIRE(chmod(path, 0660) == 0);
    CHECK_FALSE(load_private_key(path, algorithm::ed25519_sha256).key);
    unlink(path);
}

TEST_CASE("the signed fields a message may bring are bounded") {
    message_signer signer({canon::relaxed, canon::relaxed});
    const std::string value(100 * 1024, 'x');
    size_t kept = 0;
    while (signer.add_header("Subject", value)) {
        ++kept;
        REQUIRE(kept < 100);
    }
    CHECK(kept == max_signed_header_bytes / (value.size() + 7));
    CHECK(signer.add_header("X-Not-Signed", value));  // never kept, never counted
}
