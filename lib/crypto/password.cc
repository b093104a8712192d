// SPDX-License-Identifier: Apache-2.0
#include "lib/crypto/password.hh"

#include <algorithm>
#include <array>
#include <charconv>
#include <crypt.h>
#include <memory>
#include <stdexcept>
#include <vector>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "lib/core/encoding.hh"
#include "lib/core/strings.hh"

namespace vhostmail::crypto {

namespace {

enum class encoding { none, hex, base64 };

struct parsed_value {
    std::string scheme;  // canonical upper case, "" when unknown
    encoding enc = encoding::none;
    std::string data;  // after the {SCHEME} prefix (a crypt string decoded from .B64/.HEX)

    parsed_value() = default;
    parsed_value(parsed_value&&) = default;
    parsed_value& operator=(parsed_value&&) = default;

    // {PLAIN} values are passwords themselves: no copy outlives the check.
    ~parsed_value() { OPENSSL_cleanse(data.data(), data.size()); }
};

std::optional<std::vector<unsigned char>> decode_hex(std::string_view s);
std::optional<std::vector<unsigned char>> decode_base64(std::string_view s);

// Wipes a byte vector before it is freed.
struct wiped_bytes {
    std::vector<unsigned char> b;

    ~wiped_bytes() {
        if (!b.empty()) {
            OPENSSL_cleanse(b.data(), b.size());
        }
    }
};

bool is_crypt64(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '/';
}

bool looks_like_des(std::string_view s) {
    if (s.size() != 13) {
        return false;
    }
    for (char c : s) {
        if (!is_crypt64(c)) {
            return false;
        }
    }
    return true;
}

// The scheme a bare crypt(3) string names, "" when it is not one we accept.
std::string crypt_scheme(std::string_view s) {
    if (s.starts_with("$6$")) {
        return "SHA512-CRYPT";
    }
    if (s.starts_with("$5$")) {
        return "SHA256-CRYPT";
    }
    if (s.starts_with("$2y$") || s.starts_with("$2b$") || s.starts_with("$2a$")) {
        return "BLF-CRYPT";
    }
    if (s.starts_with("$y$")) {
        return "YESCRYPT";
    }
    if (s.starts_with("$1$")) {
        return "MD5-CRYPT";
    }
    if (looks_like_des(s)) {
        return "DES-CRYPT";
    }
    return "";
}

parsed_value parse(std::string_view stored) {
    parsed_value p;
    if (stored.starts_with('{')) {
        auto close = stored.find('}');
        if (close == std::string_view::npos) {
            return p;
        }
        std::string name = ascii_lower(stored.substr(1, close - 1));
        p.data = stored.substr(close + 1);
        for (char& c : name) {
            c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
        }
        auto dot = name.rfind('.');
        if (dot != std::string::npos) {
            std::string suffix = name.substr(dot + 1);
            name.resize(dot);
            if (suffix == "HEX") {
                p.enc = encoding::hex;
            } else if (suffix == "B64" || suffix == "BASE64") {
                p.enc = encoding::base64;
            } else {
                return p;  // unknown suffix = unknown scheme (Dovecot)
            }
        }
        // {SHA512-CRYPT.B64} (PostfixAdmin's sha512.b64): the crypt string itself, encoded.
        if (name.ends_with("CRYPT") && p.enc != encoding::none) {
            auto raw = p.enc == encoding::hex ? decode_hex(p.data) : decode_base64(p.data);
            if (!raw) {
                return p;
            }
            p.data.assign(raw->begin(), raw->end());
            p.enc = encoding::none;
        }
        if (name == "SHA1") {
            name = "SHA";
        } else if (name == "CLEAR" || name == "CLEARTEXT") {
            name = "PLAIN";
        } else if (name == "MD5") {
            name = p.data.starts_with("$1$") ? "MD5-CRYPT" : "PLAIN-MD5";
        } else if (name == "CRYPT") {
            name = crypt_scheme(p.data);
        }
        static constexpr std::array known = {
            "SHA512-CRYPT", "SHA256-CRYPT", "BLF-CRYPT", "MD5-CRYPT", "DES-CRYPT", "YESCRYPT",
            "SSHA512",      "SSHA256",      "SSHA",      "SMD5",      "SHA512",    "SHA256",
            "SHA",          "PLAIN-MD5",    "LDAP-MD5",  "PLAIN"};
        for (const char* k : known) {
            if (name == k) {
                p.scheme = name;
            }
        }
        // A {X-CRYPT} prefix must hold the matching crypt string.
        if (p.scheme.ends_with("-CRYPT") && crypt_scheme(p.data) != p.scheme) {
            p.scheme.clear();
        }
        return p;
    }
    p.data = stored;
    p.scheme = crypt_scheme(stored);  // Dovecot: "$1$" is MD5-crypt even without a prefix
    return p;
}

// Stored digests and salts as bytes (lib/core/encoding).
std::optional<std::vector<unsigned char>> as_bytes(std::optional<std::string> s) {
    if (!s) {
        return std::nullopt;
    }
    std::vector<unsigned char> out(s->begin(), s->end());
    OPENSSL_cleanse(s->data(), s->size());
    return out;
}

std::optional<std::vector<unsigned char>> decode_hex(std::string_view s) {
    return as_bytes(hex_decode(s));
}

std::optional<std::vector<unsigned char>> decode_base64(std::string_view s) {
    if (s.empty() || s.size() > 4096) {
        return std::nullopt;
    }
    return as_bytes(base64_decode(s));
}

const EVP_MD* digest_for(std::string_view scheme, bool& salted) {
    salted = scheme.starts_with('S') && scheme != "SHA" && scheme != "SHA256" && scheme != "SHA512";
    if (scheme == "SSHA512" || scheme == "SHA512") {
        return EVP_sha512();
    }
    if (scheme == "SSHA256" || scheme == "SHA256") {
        return EVP_sha256();
    }
    if (scheme == "SSHA" || scheme == "SHA") {
        return EVP_sha1();
    }
    if (scheme == "SMD5" || scheme == "PLAIN-MD5" || scheme == "LDAP-MD5") {
        return EVP_md5();
    }
    return nullptr;
}

// digest(password || salt) compared with `expected` in constant time.
bool digest_matches(const EVP_MD* md, std::string_view password,
                    const std::vector<unsigned char>& salt,
                    const std::vector<unsigned char>& expected) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned len = 0;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    bool ok = ctx && EVP_DigestInit_ex(ctx.get(), md, nullptr) == 1 &&
              EVP_DigestUpdate(ctx.get(), password.data(), password.size()) == 1 &&
              EVP_DigestUpdate(ctx.get(), salt.data(), salt.size()) == 1 &&
              EVP_DigestFinal_ex(ctx.get(), out.data(), &len) == 1;
    bool match =
        ok && len == expected.size() && CRYPTO_memcmp(out.data(), expected.data(), len) == 0;
    OPENSSL_cleanse(out.data(), out.size());
    return match;
}

verify_status verify_digest(const parsed_value& p, std::string_view password) {
    bool salted = false;
    const EVP_MD* md = digest_for(p.scheme, salted);
    if (md == nullptr) {
        return verify_status::unusable;
    }
    auto size = static_cast<size_t>(EVP_MD_get_size(md));
    encoding enc = p.enc;
    if (enc == encoding::none) {
        // Dovecot's defaults: PLAIN-MD5 is hex; the others base64, hex when the length fits.
        enc = p.scheme == "PLAIN-MD5" || (!salted && p.data.size() == 2 * size) ? encoding::hex
                                                                                : encoding::base64;
    }
    auto raw = enc == encoding::hex ? decode_hex(p.data) : decode_base64(p.data);
    if (!raw || raw->size() < size || (!salted && raw->size() != size)) {
        return verify_status::unusable;
    }
    std::vector<unsigned char> expected(raw->begin(), raw->begin() + static_cast<long>(size));
    std::vector<unsigned char> salt(raw->begin() + static_cast<long>(size), raw->end());
    return digest_matches(md, password, salt, expected) ? verify_status::match
                                                        : verify_status::mismatch;
}

verify_status verify_crypt(std::string_view setting, std::string_view password) {
    std::string phrase(password);
    std::string salt(setting);
    auto data = std::make_unique<crypt_data>();  // ~32 KiB: heap, not a thread's stack
    const char* out = crypt_rn(phrase.c_str(), salt.c_str(), data.get(), sizeof(crypt_data));
    verify_status result = verify_status::unusable;
    if (out != nullptr && out[0] != '*') {
        std::string_view got(out);
        // A whole hash comes back as long as it went in; anything else ("$6$salt" without its
        // hash, a cut-off value) is no hash at all, whatever the password.
        if (got.size() == setting.size()) {
            result = CRYPTO_memcmp(got.data(), setting.data(), got.size()) == 0
                         ? verify_status::match
                         : verify_status::mismatch;
        }
    }
    wipe(phrase);
    OPENSSL_cleanse(data.get(), sizeof(crypt_data));
    return result;
}

bool usable_password(std::string_view password) {
    return !password.empty() && password.size() <= max_password_bytes &&
           password.find('\0') == std::string_view::npos;
}

unsigned sha512_rounds(std::string_view s) {
    constexpr std::string_view prefix = "$6$rounds=";
    if (!s.starts_with(prefix)) {
        return 5000;  // the SHA-crypt default when the setting names none
    }
    unsigned n = 0;
    auto rest = s.substr(prefix.size());
    std::from_chars(rest.data(), rest.data() + rest.size(), n);
    return n;
}

}  // namespace

std::string keyed_digest(std::string_view key, std::string_view data) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
    unsigned len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(), &len);
    std::string r(reinterpret_cast<const char*>(out.data()), len);
    OPENSSL_cleanse(out.data(), out.size());
    return r;
}

std::string random_bytes(size_t n) {
    std::string r(n, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(r.data()), static_cast<int>(n)) != 1) {
        throw std::runtime_error("RAND_bytes failed");
    }
    return r;
}

void wipe_prefix(std::string& s, size_t n) {
    n = std::min(n, s.size());
    if (n > 0) {
        OPENSSL_cleanse(s.data(), n);
    }
}

void wipe(std::string& s) {
    if (!s.empty()) {
        OPENSSL_cleanse(s.data(), s.size());
    }
    s.clear();
}

secret& secret::operator=(secret&& o) noexcept {
    if (this != &o) {
        wipe(s_);
        s_ = std::move(o.s_);
        wipe(o.s_);
    }
    return *this;
}

verify_status verify_password(std::string_view password, std::string_view stored,
                              const verify_options& opts) {
    parsed_value p = parse(stored);
    if (p.scheme.empty() || p.data.empty() || p.data.starts_with('!') || p.data.starts_with('*')) {
        return verify_status::unusable;
    }
    if (p.scheme == "PLAIN" && !opts.allow_plain) {
        return verify_status::unusable;
    }
    bool usable = usable_password(password);
    // An unusable password still costs a full check, against a stand-in phrase.
    std::string_view phrase = usable ? password : std::string_view("\x01");
    verify_status r;
    if (p.scheme.ends_with("-CRYPT") || p.scheme == "YESCRYPT") {
        r = verify_crypt(p.data, phrase);
    } else if (p.scheme == "PLAIN") {
        r = phrase.size() == p.data.size() &&
                    CRYPTO_memcmp(phrase.data(), p.data.data(), phrase.size()) == 0
                ? verify_status::match
                : verify_status::mismatch;
    } else {
        r = verify_digest(p, phrase);
    }
    if (!usable && r == verify_status::match) {
        r = verify_status::mismatch;
    }
    return r;
}

std::string scheme_of(std::string_view stored) {
    return parse(stored).scheme;
}

std::optional<std::string> hash_password(std::string_view password, unsigned rounds) {
    if (!usable_password(password)) {
        return std::nullopt;
    }
    std::array<unsigned char, 16> random{};
    if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
        return std::nullopt;
    }
    std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> setting{};
    if (crypt_gensalt_rn("$6$", rounds, reinterpret_cast<const char*>(random.data()),
                         static_cast<int>(random.size()), setting.data(),
                         static_cast<int>(setting.size())) == nullptr) {
        return std::nullopt;
    }
    std::string phrase(password);
    auto data = std::make_unique<crypt_data>();
    const char* out = crypt_rn(phrase.c_str(), setting.data(), data.get(), sizeof(crypt_data));
    std::optional<std::string> result;
    if (out != nullptr && out[0] == '$') {
        result = "{SHA512-CRYPT}" + std::string(out);
    }
    wipe(phrase);
    OPENSSL_cleanse(data.get(), sizeof(crypt_data));
    OPENSSL_cleanse(random.data(), random.size());
    return result;
}

bool weaker_than_default(std::string_view stored, unsigned rounds) {
    parsed_value p = parse(stored);
    if (p.scheme.empty()) {
        return false;  // not ours to judge: it never verifies anyway
    }
    if (p.scheme == "SHA512-CRYPT") {
        return sha512_rounds(p.data) < rounds;
    }
    return p.scheme != "BLF-CRYPT" && p.scheme != "YESCRYPT";
}

}  // namespace vhostmail::crypto
