#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""test_dkim_verify_selftest - proves dkim_verify before it judges the milter: every corpus
message, signed by python3-dkim with a fresh RSA-2048 and a fresh Ed25519 key under three
canonicalizations, must be accepted by both verifiers, and every tamper variant of it rejected.

usage: /usr/bin/python3 test_dkim_verify_selftest.py [--with-30mb]

--with-30mb adds the corpus's 30 MB message (about 90 s more, mostly python-dkim's relaxed
canonicalization). A message a verifier cannot judge (dkim_verify.VerifierUnsupported) is
counted and listed with the reason, never counted as accepted or rejected. Exit status 0 when
all checks pass, 77 (skipped) without opendkim.
"""

import argparse
import base64
import collections
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import dkim  # noqa: E402
import dkim.util  # noqa: E402
import dkim_verify  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

FROM, TO = "user@example.org", "dest@example.net"
DOMAIN = b"example.org"
CANONICALIZATIONS = ((b"relaxed", b"relaxed"), (b"relaxed", b"simple"), (b"simple", b"simple"))
HUGE = "body-30m"

# DER prefixes of OpenSSL's Ed25519 keys (RFC 8410): PKCS#8 private key, then the 32-byte seed;
# SubjectPublicKeyInfo, then the 32-byte public key.
ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")


def openssl(*args):
    return subprocess.run(["openssl", *args], capture_output=True, check=True).stdout


class Key:
    """A signing key (as python-dkim's dkim.sign wants it) and its DNS record."""

    def __init__(self, algorithm, selector, private, record):
        self.algorithm, self.selector, self.private, self.record = (algorithm, selector,
                                                                    private, record)

    @property
    def dns_name(self):
        return f"{self.selector.decode()}._domainkey.{DOMAIN.decode()}"


def rsa_key(tmp, selector):
    pem = os.path.join(tmp, f"{selector}.pem")
    openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pem)
    spki = openssl("pkey", "-in", pem, "-pubout", "-outform", "DER")
    with open(pem, "rb") as f:
        private = f.read()
    return Key(b"rsa-sha256", selector.encode(), private,
               "v=DKIM1; k=rsa; p=" + base64.b64encode(spki).decode())


def ed25519_key(tmp, selector):
    pem = os.path.join(tmp, f"{selector}.pem")
    openssl("genpkey", "-algorithm", "ED25519", "-out", pem)
    pkcs8 = openssl("pkey", "-in", pem, "-outform", "DER")
    spki = openssl("pkey", "-in", pem, "-pubout", "-outform", "DER")
    assert pkcs8.startswith(ED25519_PKCS8_PREFIX) and len(pkcs8) == 48, pkcs8.hex()
    assert spki.startswith(ED25519_SPKI_PREFIX) and len(spki) == 44, spki.hex()
    # python-dkim signs with the base64 seed; RFC 8463 puts the raw public key in p=
    return Key(b"ed25519-sha256", selector.encode(), base64.b64encode(pkcs8[-32:]),
               "v=DKIM1; k=ed25519; p=" + base64.b64encode(spki[-32:]).decode())


def sign(message, key, canonicalization, include_headers=None):
    return dkim.sign(message, key.selector, DOMAIN, key.private, canonicalize=canonicalization,
                     signature_algorithm=key.algorithm, include_headers=include_headers)


def signed_headers(signature):
    """The h= list of a DKIM-Signature field, lowercased."""
    tags = dkim.util.parse_tag_value(signature.split(b":", 1)[1])
    return [h.strip().lower() for h in tags[b"h"].split(b":")]


class Verifier:
    """One verifier's tallies: valid signatures accepted, tampered copies rejected, messages it
    could not judge, time spent."""

    def __init__(self, label, function):
        self.label, self.function = label, function
        self.counts = collections.Counter()
        self.unsupported = collections.defaultdict(list)  # reason -> cases
        self.accepted = []  # cases of valid signatures accepted
        self.seconds = 0.0

    def expect(self, case, message, records, accept):
        """Runs the verifier; returns its (ok, detail), or None when it could not judge."""
        kind = "valid" if accept else "tampered"
        started = time.monotonic()
        try:
            ok, detail = self.function(message, records)
        except dkim_verify.VerifierUnsupported as e:
            self.counts[kind + " unsupported"] += 1
            self.unsupported[str(e)].append(case)
            return None
        finally:
            self.seconds += time.monotonic() - started
        self.counts[kind] += 1
        if ok == accept:
            self.counts[kind + " ok"] += 1
            if accept:
                self.accepted.append(case)
        else:
            failures.append(f"{self.label}: {case}: want {'accept' if accept else 'reject'}, "
                            f"got {'accept' if ok else 'reject'}\n      "
                            + detail.replace("\n", "\n      "))
            print(f"FAIL {failures[-1]}", flush=True)
        return ok, detail


def check_corpus(corpus):
    check("corpus: at least 22 messages", len(corpus) >= 22, True)
    check("corpus: names unique", len({n for n, _ in corpus}), len(corpus))
    bad_endings = [n for n, m in corpus if m.count(b"\n") != m.count(b"\r\n")
                   or m.replace(b"\r\n", b"").count(b"\r")]
    check("corpus: CRLF line endings only", bad_endings, [])
    wrong_from, no_subject = [], []
    for name, message in corpus:
        fields, _ = dkim_verify._header_fields(message)
        froms = [f.raw(message) for f in fields if f.name.lower() == b"from"]
        if froms != [f"From: {FROM}\r\n".encode()]:
            wrong_from.append((name, froms))
        if not any(f.name.lower() == b"subject" for f in fields):
            no_subject.append(name)
    check("corpus: exactly one 'From: <from_addr>' each", wrong_from, [])
    check("corpus: a Subject each", no_subject, [])
    other = dkim_verify.make_corpus("someone@example.com", "else@example.com")
    check("corpus: from_addr is a parameter",
          all(b"From: someone@example.com\r\n" in m for _, m in other), True)
    check("corpus: deterministic", other == dkim_verify.make_corpus("someone@example.com",
                                                                    "else@example.com"), True)
    huge = dict(corpus)[HUGE]
    check("corpus: the 30 MB message is 30 MB", 30_000_000 <= len(huge) <= 32_000_000, True)


def run_corpus(corpus, keys, records, verifiers):
    """Each message signed once per key and canonicalization, then once with all six
    signatures; each must verify, each tamper variant must not."""
    signing_seconds = 0.0
    not_oversigned = []
    for name, message in corpus:
        message_started = time.monotonic()
        signatures = []
        for key in keys:
            for canonicalization in CANONICALIZATIONS:
                started = time.monotonic()
                signature = sign(message, key, canonicalization)
                signing_seconds += time.monotonic() - started
                signatures.append(signature)
                if signed_headers(signature).count(b"from") != 2:
                    not_oversigned.append(name)
                case = f"{name} {key.algorithm.decode()} {b'/'.join(canonicalization).decode()}"
                run_one(case, signature + message, records, verifiers)
        run_one(f"{name} all {len(signatures)} signatures", b"".join(signatures) + message,
                records, verifiers)
        print(f"     {name}: {time.monotonic() - message_started:.1f} s", flush=True)
    check("python-dkim over-signs From in every signature (h= lists from twice)",
          not_oversigned, [])
    return signing_seconds


def run_one(case, signed, records, verifiers):
    for verifier in verifiers:
        verifier.expect(case, signed, records, accept=True)
    for variant, tampered in dkim_verify.tamper_variants(signed):
        for verifier in verifiers:
            result = verifier.expect(f"{case} {variant}", tampered, records, accept=False)
            if verifier.label == "python-dkim" and result is not None:
                check_failure_reason(f"{case} {variant}", variant, result[1])


# A variant must break what its name says and nothing else: python-dkim tells a body hash
# mismatch from a header signature mismatch (OpenDKIM reports both as "signature verification
# failed"), so a body change must give the former and a header change the latter.
reasons = collections.Counter()


def check_failure_reason(case, variant, detail):
    reasons["checked"] += 1
    if ("body hash mismatch" in detail) == variant.startswith("body-"):
        reasons["ok"] += 1
    else:
        failures.append(f"python-dkim: {case}: failed for another reason than the variant's\n"
                        f"      " + detail.replace("\n", "\n      "))
        print(f"FAIL {failures[-1]}", flush=True)


def controls(message, keys, other_rsa, records):
    """The verifiers must not accept for the wrong reasons, and the tamper variants must be
    able to tell a good signer from a bad one."""
    rsa = keys[0]
    signature = sign(message, rsa, CANONICALIZATIONS[0])
    signed = signature + message
    for label, verify in (("python-dkim", dkim_verify.verify_python),
                          ("opendkim", dkim_verify.verify_opendkim)):
        check(f"control {label}: unsigned message rejected", verify(message, records)[0], False)
        check(f"control {label}: no key record rejected", verify(signed, {})[0], False)
        check(f"control {label}: another RSA key rejected",
              verify(signed, {rsa.dns_name: other_rsa.record})[0], False)
    # A signer that does not over-sign From: the prepended-From variant must expose it. OpenDKIM
    # verifies the bottom From only, so it accepts; that is what makes the variant a test of
    # over-signing. python-dkim always hashes one From more than h= lists, so it rejects even
    # this signature: it cannot tell whether a signer over-signs.
    headers = signed_headers(signature)
    headers.remove(b"from")
    plain = sign(message, rsa, CANONICALIZATIONS[0], include_headers=headers)
    check("control: without over-signing, h= lists from once",
          signed_headers(plain).count(b"from"), 1)
    prepended = dict(dkim_verify.tamper_variants(plain + message))["second-from-prepended"]
    check("control opendkim: From not over-signed, From prepended: accepted",
          dkim_verify.verify_opendkim(prepended, records)[0], True)
    check("control python-dkim: From not over-signed, From prepended: still rejected",
          dkim_verify.verify_python(prepended, records)[0], False)
    # Both verifiers read a bare LF as CRLF, so they cannot catch a signer that hashes bare LFs
    # as they are; the milter sees CRLF from Postfix anyway.
    lf_message = message.replace(b"\r\n", b"\n")
    lf_signed = dkim.sign(lf_message, rsa.selector, DOMAIN, rsa.private,
                          canonicalize=(b"simple", b"simple"), linesep=b"\n") + lf_message
    check("control: the bare-LF copy has no CR", b"\r" in lf_signed, False)
    for label, verify in (("python-dkim", dkim_verify.verify_python),
                          ("opendkim", dkim_verify.verify_opendkim)):
        check(f"control {label}: signed with bare LFs, accepted",
              verify(lf_signed, records)[0], True)
        check(f"control {label}: signed with bare LFs, accepted after LF -> CRLF",
              verify(lf_signed.replace(b"\n", b"\r\n"), records)[0], True)


def report(verifiers, signing_seconds):
    row = "{:<12}{:>16}{:>19}{:>22}{:>10}"
    print("\n" + row.format("", "valid accepted", "tampered rejected",
                            "not judged (v + t)", "time"))
    for v in verifiers:
        c = v.counts
        print(row.format(v.label, f"{c['valid ok']}/{c['valid']}",
                         f"{c['tampered ok']}/{c['tampered']}",
                         f"{c['valid unsupported']} + {c['tampered unsupported']}",
                         f"{v.seconds:.1f} s"))
    print(row.format("signing", "", "", "", f"{signing_seconds:.1f} s"))
    for algorithm in ("rsa-sha256", "ed25519-sha256"):
        print(f"{algorithm} signatures accepted alone: " + ", ".join(
            f"{v.label} {sum(f' {algorithm} ' in c for c in v.accepted)}" for v in verifiers))
    print(f"python-dkim failed each tampered copy for the variant's reason: "
          f"{reasons['ok']}/{reasons['checked']}")
    for v in verifiers:
        for reason, cases in v.unsupported.items():
            names = sorted({c.split(" ")[0] for c in cases})
            print(f"\n{v.label} could not judge {len(cases)} cases of {', '.join(names)}, "
                  f"e.g. {cases[0]}:\n  {reason}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--with-30mb", action="store_true",
                        help=f"include {HUGE} (about 90 s more)")
    args = parser.parse_args()
    started = time.monotonic()
    try:
        dkim_verify.verify_opendkim(b"From: a@b.example\r\n\r\n", {})
    except dkim_verify.VerifierUnsupported as e:
        print(f"skipped: {e}")
        return 77

    with tempfile.TemporaryDirectory(prefix="dkim_verify_selftest.") as tmp:
        keys = [rsa_key(tmp, "rsa2048"), ed25519_key(tmp, "ed25519")]
        other_rsa = rsa_key(tmp, "other")
    records = {key.dns_name: key.record for key in keys}
    print(f"keys: {', '.join(f'{k.dns_name} ({k.algorithm.decode()})' for k in keys)}")

    corpus = dkim_verify.make_corpus(FROM, TO)
    check_corpus(corpus)
    if not args.with_30mb:
        corpus = [(n, m) for n, m in corpus if n != HUGE]
    print(f"corpus: {len(corpus)} messages{'' if args.with_30mb else f' ({HUGE} left out)'}, "
          f"{len(keys) * len(CANONICALIZATIONS)} signatures each, then all at once", flush=True)

    verifiers = [Verifier("python-dkim", dkim_verify.verify_python),
                 Verifier("opendkim -t", dkim_verify.verify_opendkim)]
    signing_seconds = run_corpus(corpus, keys, records, verifiers)
    controls(dict(corpus)["plain-ascii-short"], keys, other_rsa, records)
    report(verifiers, signing_seconds)
    print(f"\nrun time: {time.monotonic() - started:.1f} s")
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
