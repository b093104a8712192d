// SPDX-License-Identifier: Apache-2.0
#include "lib/crypto/password.hh"

#include <string>

#include <catch2/catch.hpp>

using namespace vhostmail::crypto;

namespace {

struct vector_case {
    const char* name;
    std::string password;
    std::string stored;
    std::string scheme;
};

// Known vectors: SHA-crypt from Drepper's specification, DES from MariaDB's ENCRYPT()
// (docs/protocols.md 12.3), digests of "secret" from Python's hashlib; crypt strings of "secret"
// made with Python's crypt module (which itself calls libxcrypt, so they guard our parsing, not the
// library).
const vector_case vectors[] = {
    {"sha512-crypt spec", "Hello world!",
     "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/"
     "O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1",
     "SHA512-CRYPT"},
    {"sha256-crypt spec", "Hello world!",
     "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "SHA256-CRYPT"},
    {"sha512-crypt prefixed", "secret",
     "{SHA512-CRYPT}$6$saltsalt$"
     "TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1",
     "SHA512-CRYPT"},
    {"sha512-crypt rounds", "secret",
     "$6$rounds=10000$saltsalt$WowrPBpEDVlCoruBosYlrZycTCx3//"
     "TyDHYqEhX9DUHHt0XTztUqzQDDUuvUGRA8aUe9p55hcAxeGcu58sm3u.",
     "SHA512-CRYPT"},
    {"sha256-crypt", "secret", "$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA",
     "SHA256-CRYPT"},
    {"md5-crypt", "secret", "$1$saltsalt$9xy1btjgzLYfb7hivXtC//", "MD5-CRYPT"},
    {"md5-crypt via {MD5}", "secret", "{MD5}$1$saltsalt$9xy1btjgzLYfb7hivXtC//", "MD5-CRYPT"},
    {"bcrypt 2b", "secret", "$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a",
     "BLF-CRYPT"},
    {"bcrypt 2y prefixed", "secret",
     "{BLF-CRYPT}$2y$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a", "BLF-CRYPT"},
    {"yescrypt", "secret", "$y$j9T$abcdefghijklmnop$3dL1LkYnZM.OVXuVdnnaKVDlLYT92dRwOzDZ5XiVCe.",
     "YESCRYPT"},
    {"yescrypt via {CRYPT}", "secret",
     "{CRYPT}$y$j9T$abcdefghijklmnop$3dL1LkYnZM.OVXuVdnnaKVDlLYT92dRwOzDZ5XiVCe.", "YESCRYPT"},
    {"sha512-crypt base64-encoded (PostfixAdmin sha512.b64)", "secret",
     "{SHA512-CRYPT.B64}"
     "JDYkc2FsdHNhbHQkVFZMbFFjYnBGVm9mNVczWXo0RFRQNmdSc3RpTnVId3dUdDZHTGMxRTVuMFUw"
     "YURlaHkwUzVrblY4d2lPUVNwVDBZNzd2d1BaTi5QcS5IOTFwNWhWTzE=",
     "SHA512-CRYPT"},
    {"md5-crypt hex-encoded", "secret",
     "{MD5-CRYPT.HEX}24312473616c7473616c74243978793162746a677a4c5966623768697658744"
     "32f2f",
     "MD5-CRYPT"},
    {"des (ENCRYPT)", "password", "sa3tHJ3/KuYvI", "DES-CRYPT"},
    {"des prefixed", "password", "{DES-CRYPT}sa3tHJ3/KuYvI", "DES-CRYPT"},
    {"ssha512", "secret",
     "{SSHA512}MKbQg3rPvz03V+1S0+/jlDdn0B0IiGGxl7kZMimdo1IHHWN6DtzxJMCchsX5U1lrRY7apW/"
     "oopOgERexYda1nAECAwQ=",
     "SSHA512"},
    {"ssha256", "secret", "{SSHA256}pBFKVQdg8aaZi2INYzmnxxLtStvyMgIOC7TahNLLqCIBAgME", "SSHA256"},
    {"ssha", "secret", "{SSHA}uJDd0BIdJ9Z7yDCZNWdgYeb33+cBAgME", "SSHA"},
    {"smd5", "secret", "{SMD5}LF/f6q9WuGXFii+gm3ssYQECAwQ=", "SMD5"},
    {"sha512 b64", "secret",
     "{SHA512}vSsar3708Jvp9Szi2NWZZ02Bqp1qRCFpbcTZPdBhnWgs5WtNZKnvCXdhztmeD2cmW192CF5bDufKRpayrW/"
     "isg==",
     "SHA512"},
    {"sha256 hex", "secret",
     "{SHA256}2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b", "SHA256"},
    {"sha1 b64", "secret", "{SHA1}5en6G6MezRroT3XKqkdPOmY/BfQ=", "SHA"},
    {"sha hex suffix", "secret", "{SHA.HEX}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4", "SHA"},
    {"plain-md5", "secret", "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69", "PLAIN-MD5"},
    {"md5 = plain-md5", "secret", "{md5}5ebe2294ecd0e0f08eab7690d2a6ee69", "PLAIN-MD5"},
    {"ldap-md5", "secret", "{LDAP-MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==", "LDAP-MD5"},
};

}  // namespace

TEST_CASE("every scheme verifies its known vector and refuses a wrong password") {
    for (const auto& v : vectors) {
        CAPTURE(v.name);
        CHECK(scheme_of(v.stored) == v.scheme);
        CHECK(verify_password(v.password, v.stored) == verify_status::match);
        CHECK(verify_password("x" + v.password, v.stored) == verify_status::mismatch);
        CHECK(verify_password("Secret", v.stored) == verify_status::mismatch);
    }
}

TEST_CASE("DES crypt uses the first 8 characters only (as crypt(3) always did)") {
    CHECK(verify_password("password-and-more", "sa3tHJ3/KuYvI") == verify_status::match);
    CHECK(verify_password("passwor", "sa3tHJ3/KuYvI") == verify_status::mismatch);
}

TEST_CASE("plain passwords only when allowed") {
    CHECK(verify_password("secret", "{PLAIN}secret") == verify_status::unusable);
    CHECK(verify_password("secret", "{PLAIN}secret", {.allow_plain = true}) ==
          verify_status::match);
    CHECK(verify_password("secret", "{CLEARTEXT}secret", {.allow_plain = true}) ==
          verify_status::match);
    CHECK(verify_password("secreT", "{CLEAR}secret", {.allow_plain = true}) ==
          verify_status::mismatch);
    CHECK(verify_password("secre", "{PLAIN}secret", {.allow_plain = true}) ==
          verify_status::mismatch);
}

TEST_CASE("unusable stored values never match") {
    const char* values[] = {
        "",
        "!",
        "*",
        "!$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8w",
        "{SHA512-CRYPT}!locked",
        "{SHA512-CRYPT}",
        "{NOSUCH}abc",
        "{SHA.BIN}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4",
        "{SHA512-CRYPT}$1$saltsalt$9xy1btjgzLYfb7hivXtC//",
        "{SHA512-CRYPT.B64}JDEkc2FsdHNhbHQkOXh5MWJ0amd6TFlmYjdoaXZYdEMvLw==",
        "{SHA512-CRYPT.B64}not base64!",
        "{SSHA}***",
        "{SSHA}AAAA",
        "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ",
        "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA",
        "{SHA512-CRYPT",
        "plaintext",
        "$6$",
        "$9$whatever"};
    for (const char* v : values) {
        CAPTURE(v);
        CHECK(verify_password("secret", v, {.allow_plain = true}) != verify_status::match);
    }
}

TEST_CASE("passwords that are empty, too long or contain NUL never match") {
    std::string stored = *hash_password("secret", 5000);
    CHECK(verify_password("", "{PLAIN}", {.allow_plain = true}) == verify_status::unusable);
    CHECK(verify_password(std::string("secret\0", 7), stored) == verify_status::mismatch);
    CHECK(verify_password(std::string(max_password_bytes + 1, 'a'), stored) ==
          verify_status::mismatch);
    CHECK(verify_password(std::string_view("sec\0ret", 7), "{PLAIN}sec", {.allow_plain = true}) ==
          verify_status::mismatch);
    CHECK(!hash_password(""));
    CHECK(!hash_password(std::string(max_password_bytes + 1, 'a')));
}

TEST_CASE("new hashes are salted SHA512-CRYPT with the configured rounds") {
    auto a = hash_password("secret");
    auto b = hash_password("secret");
    REQUIRE(a);
    REQUIRE(b);
    CHECK(*a != *b);
    CHECK(a->starts_with("{SHA512-CRYPT}$6$rounds=20000$"));
    CHECK(scheme_of(*a) == "SHA512-CRYPT");
    CHECK(verify_password("secret", *a) == verify_status::match);
    CHECK(verify_password("secreT", *a) == verify_status::mismatch);
    CHECK(!weaker_than_default(*a));
    auto cheap = hash_password("secret", 6000);
    REQUIRE(cheap);
    CHECK(weaker_than_default(*cheap));
}

TEST_CASE("weaker_than_default") {
    CHECK(weaker_than_default("$1$saltsalt$9xy1btjgzLYfb7hivXtC//"));
    CHECK(weaker_than_default("sa3tHJ3/KuYvI"));
    CHECK(weaker_than_default("{SSHA}uJDd0BIdJ9Z7yDCZNWdgYeb33+cBAgME"));
    CHECK(weaker_than_default("$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDeh"));
    CHECK_FALSE(
        weaker_than_default("$2b$05$abcdefghijklmnopqrstuuOQiyCxlgf/oeuTqixKmWdcYUh4Hjl0a"));
    CHECK_FALSE(
        weaker_than_default("$y$j9T$abcdefghijklmnop$3dL1LkYnZM.OVXuVdnnaKVDlLYT92dRwOzDZ"));
    CHECK_FALSE(weaker_than_default("{NOSUCH}x"));
}

TEST_CASE("keyed_digest and wipe") {
    CHECK(keyed_digest("k", "a").size() == 32);
    CHECK(keyed_digest("k", "a") != keyed_digest("k", "b"));
    CHECK(keyed_digest("k", "a") != keyed_digest("l", "a"));
    CHECK(random_bytes(16) != random_bytes(16));
    std::string s = "secret";
    wipe(s);
    CHECK(s.empty());
    secret x(std::string("pw"));
    secret y = std::move(x);
    CHECK(y.view() == "pw");
    CHECK(x.view().empty());
}
