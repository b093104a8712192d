// SPDX-License-Identifier: Apache-2.0
// password.hh - verify stored password hashes the way Dovecot reads them, and write new ones.
// Stored forms (docs/protocols.md section 12): "{SCHEME}rest" (scheme case-insensitive, optional
// .HEX/.B64/.BASE64 suffix) or a bare crypt(3) string ($6$, $5$, $2y$/$2b$/$2a$, $y$, $1$, 13-char
// DES). Schemes: SHA512-CRYPT, SHA256-CRYPT, BLF-CRYPT, MD5-CRYPT, DES-CRYPT, CRYPT (any crypt(3)
// string), SSHA512, SSHA256, SSHA, SMD5, SHA512, SHA256, SHA/SHA1, PLAIN-MD5, LDAP-MD5, MD5, and
// PLAIN/CLEAR/CLEARTEXT only when allowed. Unknown schemes, empty and locked values ("!", "*")
// never match.
// Secrets: comparisons are constant-time (CRYPTO_memcmp); every buffer that held a password or a
// digest of one is wiped (OPENSSL_cleanse). Nothing here logs.
// Thread safety: all functions are reentrant (crypt_rn with a per-call heap buffer).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace vhostmail::crypto {

// The longest password we hash (libxcrypt's CRYPT_MAX_PASSPHRASE_SIZE).
inline constexpr size_t max_password_bytes = 512;

enum class verify_status {
    match,
    mismatch,
    unusable,  // empty, locked, malformed or unknown scheme, or PLAIN while not allowed
};

struct verify_options {
    bool allow_plain = false;  // accept {PLAIN}/{CLEAR}/{CLEARTEXT} stored values
};

// Checks `password` against the stored value. A password that is empty, longer than
// max_password_bytes or contains NUL never matches (mismatch), after the same work as a real check
// when the stored value is usable, so timing does not tell why.
verify_status verify_password(std::string_view password, std::string_view stored,
                              const verify_options& opts = {});

// The canonical upper-case scheme name of a stored value ("SHA512-CRYPT", "DES-CRYPT", "SSHA",
// ...), or "" when it is not recognised.
std::string scheme_of(std::string_view stored);

// The cost of our default scheme: SHA-512-crypt rounds (see hash_password).
inline constexpr unsigned default_sha512_rounds = 20000;

// A new stored value "{SHA512-CRYPT}$6$rounds=N$<16 random salt chars>$..." for `password`.
// Dovecot 2.3 (Debian 12) verifies it with its SHA512-CRYPT scheme (libc crypt). nullopt when the
// password is unusable (see verify_password) or the system's random source fails.
std::optional<std::string> hash_password(std::string_view password,
                                         unsigned rounds = default_sha512_rounds);

// True when `stored` is a recognised value weaker than what hash_password writes with `rounds`
// (another scheme, or SHA512-CRYPT with fewer rounds): a candidate for rehash on login.
bool weaker_than_default(std::string_view stored, unsigned rounds = default_sha512_rounds);

// HMAC-SHA256(key, data) as 32 raw bytes: a cache key that does not reveal the password.
std::string keyed_digest(std::string_view key, std::string_view data);

// n bytes from the system's CSPRNG; throws std::runtime_error if it fails.
std::string random_bytes(size_t n);

// Overwrites a string's bytes (OPENSSL_cleanse) and clears it.
void wipe(std::string& s);

// Overwrites the first n bytes of s (OPENSSL_cleanse), keeping its size.
void wipe_prefix(std::string& s, size_t n);

// A string holding a secret, wiped when destroyed. Move-only.
class secret {
public:
    secret() = default;

    explicit secret(std::string s) : s_(std::move(s)) {}

    secret(secret&& o) noexcept : s_(std::move(o.s_)) { wipe(o.s_); }

    secret& operator=(secret&& o) noexcept;
    secret(const secret&) = delete;
    secret& operator=(const secret&) = delete;

    ~secret() { wipe(s_); }

    std::string_view view() const { return s_; }

    std::string& str() { return s_; }

private:
    std::string s_;
};

}  // namespace vhostmail::crypto
