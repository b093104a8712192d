#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""dkim_verify - check DKIM signatures with two verifiers that share no code with ours.

    from dkim_verify import (verify_python, verify_opendkim, tamper_variants, make_corpus,
                             VerifierUnsupported)
    ok, detail = verify_python(signed, {"sel._domainkey.example.org": "v=DKIM1; k=rsa; p=..."})
    ok, detail = verify_opendkim(signed, records)     # OpenDKIM's own verifier, opendkim -t
    for name, bad in tamper_variants(signed): ...     # copies that must fail verification
    for name, message in make_corpus("user@example.org", "dest@example.net"): ...

A verifier returns (True, detail) only when the message carries at least one DKIM-Signature and
every one of them verifies; detail has one line per signature. When a verifier cannot judge a
message at all (a signature algorithm it does not implement, a message its input path would
alter before hashing) it raises VerifierUnsupported instead of returning False, so a test that
expects a rejection cannot mistake "could not check" for "rejected".

Neither verifier does DNS: keys come from the txt_records argument only (python-dkim through
its dnsfunc hook, OpenDKIM through TestPublicKeys).

Must run under an interpreter that has Debian's python3-dkim (and python3-nacl for ed25519),
i.e. /usr/bin/python3 on Debian 12.

CLI:
    dkim_verify.py verify FILE --txt NAME=VALUE [--txt ...]   both verifiers; exit 0 iff both pass
    dkim_verify.py corpus DIR [--from ADDR] [--to ADDR]       write make_corpus() as DIR/NN-name.eml
"""

import argparse
import base64
import functools
import importlib.util
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import NamedTuple

try:
    import dkim
    import dkim.crypto
    import dkim.util
except ImportError:
    sys.exit(f"dkim_verify: {sys.executable} cannot import the dkim module (Debian package "
             "python3-dkim); run this with /usr/bin/python3")


class VerifierUnsupported(Exception):
    """The verifier cannot judge this message; its verdict would mean nothing."""


# ---------------------------------------------------------------------------------------------
# Header parsing shared by the verifiers' pre-checks and the tamper variants


class _Field(NamedTuple):
    name: bytes   # as written, e.g. b"sUbJeCt"
    start: int    # offset of the field's first byte in the message
    end: int      # offset just past the field's last line terminator

    def raw(self, message):
        return message[self.start:self.end]

    def value(self, message):
        """What follows the colon, folding and final line break included."""
        return message[self.start + len(self.name) + 1:self.end]


def _header_fields(message):
    """The header fields in order, and the offset where the body starts (just after the empty
    line), or None when the message is all header, without the empty line."""
    fields = []
    pos = 0
    while pos < len(message):
        eol = message.find(b"\n", pos)
        line_end = len(message) if eol < 0 else eol + 1
        line = message[pos:line_end]
        if line in (b"\r\n", b"\n"):
            return fields, line_end
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = fields[-1]._replace(end=line_end)
        else:
            fields.append(_Field(line.split(b":", 1)[0], pos, line_end))
        pos = line_end
    return fields, None


def _signature_fields(message):
    return [f for f in _header_fields(message)[0] if f.name.lower() == b"dkim-signature"]


def _signature_tags(message, field):
    """The tag=value pairs of a DKIM-Signature field, {} when they do not parse (the verifiers
    then report the signature as broken)."""
    try:
        return dkim.util.parse_tag_value(field.value(message))
    except dkim.util.InvalidTagValueList:
        return {}


def _describe(tags):
    return " ".join(f"{k}={tags[k.encode()].decode(errors='replace')}"
                    for k in ("a", "c", "d", "s") if k.encode() in tags)


def _dns_name(name):
    """DNS names compare without case and without the root's trailing dot."""
    if isinstance(name, bytes):
        name = name.decode("ascii")
    return name.rstrip(".").lower()


# ---------------------------------------------------------------------------------------------
# python3-dkim


class _ListHandler(logging.Handler):
    """Keeps python-dkim's log messages: the only place it says why a key was refused."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _python_dkim_ed25519():
    """python-dkim verifies ed25519-sha256 only when PyNaCl (python3-nacl) is importable."""
    return importlib.util.find_spec("nacl") is not None


def verify_python(message: bytes, txt_records: dict[str, str]) -> tuple[bool, str]:
    """Verifies every DKIM-Signature of `message` with python3-dkim.

    Raises VerifierUnsupported for a signature algorithm python-dkim does not implement here.
    Note: python-dkim splits lines on CRLF or a bare LF, so it hashes a bare LF as CRLF; and it
    always hashes one more From than h= lists, so it rejects a prepended From even when the
    signer did not over-sign From (use verify_opendkim to check a signer's over-signing).
    """
    records = {_dns_name(n): v for n, v in txt_records.items()}

    def dnsfunc(name, timeout=5):
        return records.get(_dns_name(name))

    handler = _ListHandler()
    logger = logging.getLogger("dkim_verify.python_dkim")
    logger.propagate = False
    logger.handlers = [handler]
    logger.setLevel(logging.WARNING)
    try:
        verifier = dkim.DKIM(message, logger=logger)
    except dkim.DKIMException as e:
        return False, f"python-dkim: message does not parse: {e}"

    fields = _signature_fields(message)
    if not fields:
        return False, "python-dkim: no DKIM-Signature"
    for field in fields:
        algorithm = _signature_tags(message, field).get(b"a", b"")
        if algorithm.startswith(b"ed25519") and not _python_dkim_ed25519():
            raise VerifierUnsupported("python-dkim verifies ed25519-sha256 only with PyNaCl "
                                      "(python3-nacl), which is not installed")
        if algorithm and algorithm not in dkim.crypto.HASH_ALGORITHMS:
            raise VerifierUnsupported(f"python-dkim does not implement a={algorithm.decode()}")

    lines = []
    all_ok = True
    for i, field in enumerate(fields):
        handler.messages.clear()
        try:
            ok = verifier.verify(idx=i, dnsfunc=dnsfunc)
            why = "; ".join(handler.messages) or ("" if ok else "signature does not match")
        except dkim.DKIMException as e:
            ok, why = False, str(e)
        all_ok &= bool(ok)
        what = _describe(_signature_tags(message, field))
        lines.append(f"python-dkim: signature {i + 1}/{len(fields)} {what}: "
                     + ("pass" if ok else f"FAIL ({why})"))
    return all_ok, "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# OpenDKIM test mode (opendkim -t)
#
# How opendkim -t reports (checked against 2.11.0~beta2, Debian 12): it exits 0 whenever it
# could process the message, pass or fail. On stdout it prints one summary line about a single
# "chosen" signature only -
#     opendkim: FILE: verification (s=S, d=D, N-bit key) succeeded
#     opendkim: FILE: verification (s=S d=D, N-bit key, unknown) failed: REASON
#     opendkim: FILE: message not signed
# - so per-signature results come from the Authentication-Results field it would add, which
# -vv prints (value folded over lines) as
#     ### INSHEADER: idx=0 hname='Authentication-Results' hvalue='AUTHSERV-ID;
#         dkim=pass (2048-bit key) header.d=D header.i=@D header.a=rsa-sha256 header.s=S header.b=X;
#         dkim=fail reason="signature verification failed" header.d=... ;
#         dkim-atps=neutral'
# with one dkim= result per DKIM-Signature, in header order. A signature it cannot even parse
# makes it stop at mlfi_eoh and exit 70 (EX_SOFTWARE) without a verdict.
#
# ed25519: this OpenDKIM lists ed25519-sha256 under "Supported signing algorithms" (opendkim -V)
# and does verify RFC 8463 signatures (k=ed25519 record holding the raw 32-byte key); it prints
# them as "0-bit key" in the summary line and without a key size in Authentication-Results.

# The test-mode reader (opendkim/test.c) keeps each header field in a 64 KiB buffer.
_OPENDKIM_HEADER_BUFFER = 65536
# libopendkim reads a TestPublicKeys line into a 1024-byte buffer (BUFRSZ in dkim-keys.c).
_OPENDKIM_KEY_LINE_BUFFER = 1024
# Enough to make OpenDKIM evaluate every signature (its default is 3), but small enough for all
# results to fit in the 4 KiB Authentication-Results it builds.
_OPENDKIM_MAX_SIGNATURES = 20

_AR_FIELD = re.compile(r"^### (?:INSHEADER: idx=\d+|ADDHEADER:) hname='Authentication-Results' "
                       r"hvalue='(.*?)'$", re.M | re.S)
_SUMMARY_LINE = re.compile(r"^opendkim: .*?: (verification .*|message not signed)$", re.M)


@functools.cache
def _opendkim_binary():
    # /usr/sbin is not on every user's PATH
    path = shutil.which("opendkim") or shutil.which("opendkim", path="/usr/sbin:/sbin")
    if path is None:
        raise VerifierUnsupported("opendkim is not installed (Debian package opendkim)")
    return path


@functools.cache
def _opendkim_algorithms():
    """The a= values opendkim -V lists under "Supported signing algorithms"."""
    out = subprocess.run([_opendkim_binary(), "-V"], capture_output=True, text=True,
                         check=True).stdout
    section = re.search(r"Supported signing algorithms:\n((?:\t\t.*\n)+)", out)
    return frozenset(line.strip() for line in section.group(1).splitlines()) if section \
        else frozenset()


def _canonicalizations(tags):
    """(header, body) canonicalization names of a signature's c= tag; RFC 6376 3.5 defaults."""
    header, _, body = tags.get(b"c", b"simple/simple").partition(b"/")
    return header.strip(), body.strip() or b"simple"


def _opendkim_precheck(message):
    """Raises VerifierUnsupported when opendkim -t would hash something other than `message`.
    Returns whether it needs FixCRLF to accept a body without a final CRLF."""
    if b"\0" in message:
        # test mode reads lines with fgets() and uses them as C strings
        raise VerifierUnsupported("opendkim -t cuts lines at a NUL byte")
    fields, body_start = _header_fields(message)
    simple_header_names = set()
    relaxed_body = False
    for field in fields:
        if len(field.raw(message).rstrip(b"\r\n")) >= _OPENDKIM_HEADER_BUFFER - 1:
            raise VerifierUnsupported(f"opendkim -t holds a header field in "
                                      f"{_OPENDKIM_HEADER_BUFFER} bytes; "
                                      f"{field.name.decode(errors='replace')} is longer")
        if field.name.lower() != b"dkim-signature":
            continue
        tags = _signature_tags(message, field)
        algorithm = tags.get(b"a", b"").decode(errors="replace")
        if algorithm and algorithm not in _opendkim_algorithms():
            raise VerifierUnsupported(f"this opendkim does not implement a={algorithm} "
                                      f"(opendkim -V lists {sorted(_opendkim_algorithms())})")
        header_canon, body_canon = _canonicalizations(tags)
        relaxed_body |= body_canon == b"relaxed"
        if header_canon == b"simple":
            simple_header_names.add(b"dkim-signature")
            simple_header_names.update(h.strip().lower() for h in tags.get(b"h", b"").split(b":"))
    # Test mode strips all whitespace after a field's colon and hands the library
    # "Name: value": it never negotiates SMFIP_HDR_LEADSPC, as an MTA would. Relaxed header
    # canonicalization does not care; simple does, and such a signature cannot verify there.
    for field in fields:
        if field.name.lower() not in simple_header_names:
            continue
        value = field.value(message).rstrip(b"\r\n")
        if value != b" " + value.lstrip(b" \t\r\n\v\f"):
            raise VerifierUnsupported(
                f"opendkim -t turns the whitespace after the colon of "
                f"{field.name.decode(errors='replace')} (value {value[:16]!r}...) into one "
                f"space, so a simple header canonicalization hash cannot match")
    # RFC 6376 3.4.4 adds the missing CRLF of a non-empty body under relaxed body
    # canonicalization; libopendkim instead fails ("CRLF at end of body missing", no verdict)
    # unless FixCRLF is on. FixCRLF also turns bare CRs into CRLFs (bare LFs test mode has
    # turned into CRLFs already), so it is only safe without bare CRs.
    body = message[body_start:] if body_start is not None else b""
    if not relaxed_body or not body or body.endswith(b"\n"):
        return False
    if re.search(rb"\r(?!\n)", body):
        raise VerifierUnsupported("libopendkim needs FixCRLF for a relaxed-canonicalized body "
                                  "without a final CRLF, and FixCRLF would rewrite this body's "
                                  "bare CRs")
    return True


def _opendkim_config(workdir, txt_records, fix_crlf):
    keys = os.path.join(workdir, "public-keys")
    with open(keys, "w", encoding="ascii") as f:
        for name, value in txt_records.items():
            line = f"{_dns_name(name)} {value}\n"
            if "\n" in value or "\r" in value:
                raise ValueError(f"TXT value for {name} spans lines")
            if len(line) >= _OPENDKIM_KEY_LINE_BUFFER:
                raise VerifierUnsupported(f"opendkim reads TestPublicKeys lines into "
                                          f"{_OPENDKIM_KEY_LINE_BUFFER} bytes; the record for "
                                          f"{name} is longer")
            f.write(line)
    # An empty DNS data set: OpenDKIM then installs its file-backed resolver instead of
    # libunbound, so a lookup beyond the keys (ATPS for third-party signatures, say) gets
    # NXDOMAIN here instead of leaving the machine.
    no_dns = os.path.join(workdir, "no-dns")
    open(no_dns, "w").close()
    conf = os.path.join(workdir, "opendkim.conf")
    with open(conf, "w", encoding="ascii") as f:
        f.write(
            # Only verify, and never read /etc/opendkim.conf (we pass -x), so no UserID
            # (running as root is fine: test mode forks nothing and drops nothing), no
            # Socket/PidFile, no KeyFile, hence nothing for RequireSafeKeys to check.
            "Mode v\n"
            # Syslog is off by default; said here because test mode must not log. OpenDKIM
            # still calls syslog() once per message at the end (its SSL-error report); without
            # /dev/log that call does nothing.
            "Syslog no\n"
            f"MaximumSignaturesToVerify {_OPENDKIM_MAX_SIGNATURES}\n"
            f"TestPublicKeys {keys}\n"
            f"TestDNSData {no_dns}\n"
            + ("FixCRLF yes\n" if fix_crlf else ""))
    return conf


def _opendkim_results(ar_value):
    """[(result, "a=.. d=.. s=..", reason)] for each dkim= entry of an Authentication-Results
    value (reason "" when it gives none)."""
    results = []
    for entry in re.findall(r'(?:"[^"]*"|[^;"])+', ar_value):
        m = re.match(r"\s*dkim=(\w+)", entry)
        if m is None:
            continue
        props = dict(re.findall(r"header\.([a-z])=(\S+)", entry))
        reason = re.search(r'reason="([^"]*)"', entry)
        what = " ".join(f"{k}={props[k]}" for k in ("a", "d", "s") if k in props)
        results.append((m.group(1), what, reason.group(1) if reason else ""))
    return results


def verify_opendkim(message: bytes, txt_records: dict[str, str]) -> tuple[bool, str]:
    """Verifies every DKIM-Signature of `message` with OpenDKIM's verifier (opendkim -t),
    keys from txt_records only.

    Raises VerifierUnsupported when opendkim -t cannot judge the message: an algorithm it does
    not list, a NUL byte, an over-long header field or key record, or a simple-header-
    canonicalized signature over a field whose value does not start with exactly one space
    (see _opendkim_precheck). Like python-dkim, test mode reads a bare LF as CRLF.
    """
    opendkim = _opendkim_binary()
    fields = _signature_fields(message)
    if not fields:
        return False, "opendkim: no DKIM-Signature"
    if len(fields) > _OPENDKIM_MAX_SIGNATURES:
        raise VerifierUnsupported(f"more than {_OPENDKIM_MAX_SIGNATURES} signatures")
    fix_crlf = _opendkim_precheck(message)

    with tempfile.TemporaryDirectory(prefix="dkim_verify.") as workdir:
        conf = _opendkim_config(workdir, txt_records, fix_crlf)
        path = os.path.join(workdir, "message.eml")
        with open(path, "wb") as f:
            f.write(message)
        run = subprocess.run([opendkim, "-x", conf, "-vv", "-t", path], cwd=workdir,
                             capture_output=True, text=True, errors="replace", timeout=600,
                             env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"})

    if run.returncode != 0:
        # e.g. exit 70 after "mlfi_eoh() returned SMFIS_ACCEPT": a signature it cannot parse
        last = run.stderr.strip().splitlines()[-1:] or ["(no output)"]
        return False, f"opendkim: gave no verdict, exit {run.returncode}: {last[0]}"
    summary = _SUMMARY_LINE.search(run.stdout)
    ar = _AR_FIELD.search(run.stdout)
    results = _opendkim_results(ar.group(1)) if ar else []
    if not results:
        return False, "opendkim: " + (summary.group(1) if summary else
                                      f"no result in its output: {run.stdout.strip()!r}")
    lines = []
    for i, (result, what, why) in enumerate(results):
        verdict = ("pass" if result == "pass" else
                   f"FAIL (dkim={result}: {why})" if why else f"FAIL (dkim={result})")
        lines.append(f"opendkim: signature {i + 1}/{len(results)} {what}: {verdict}")
    if len(results) != len(fields):
        lines.append(f"opendkim: FAIL: {len(results)} results for {len(fields)} signatures")
    all_ok = len(results) == len(fields) and all(r == "pass" for r, _, _ in results)
    return all_ok, "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Tampering


def _visible_byte_near(body, middle):
    """Offset of the byte nearest after (else before) `middle` that is not whitespace."""
    m = re.compile(rb"[^ \t\r\n]").search(body, middle)
    if m is not None:
        return m.start()
    return next((i for i in range(middle - 1, -1, -1) if body[i] not in b" \t\r\n"), None)


def _change_body_byte(message):
    """(name, copy) with one body byte changed near the middle of the body. The byte is not
    whitespace and becomes another non-whitespace byte, so even relaxed body canonicalization
    sees it and the line structure stays; a body without such a byte gets one added instead."""
    _, body_start = _header_fields(message)
    if body_start is None:
        message, body_start = message + b"\r\n", len(message) + 2
    body = message[body_start:]
    middle = len(body) // 2
    at = _visible_byte_near(body, middle)
    if at is None:
        # empty or blank body: put an "X" at the start of the middle line
        line_start = body.rfind(b"\n", 0, middle) + 1
        body = body[:line_start] + b"X" + (body[line_start:] or b"\r\n")
        return "body-byte-added", message[:body_start] + body
    new = b"Y" if body[at:at + 1] == b"X" else b"X"
    return "body-byte-changed", message[:body_start] + body[:at] + new + body[at + 1:]


def _change_subject(message):
    fields, _ = _header_fields(message)
    subject = next((f for f in fields if f.name.lower() == b"subject"), None)
    if subject is None:
        raise ValueError("message has no Subject to tamper with")
    at = subject.start + len(subject.name) + 1
    return "subject-changed", message[:at] + b" Tampered:" + message[at:]


def _prepend_from(message):
    # Verifiers take From instances bottom-up, so only an over-signed From (listed in h= once
    # more than present) covers one added above the original.
    return "second-from-prepended", b"From: attacker@evil.example\r\n" + message


def _alter_b_tag(message):
    fields = _signature_fields(message)
    if not fields:
        raise ValueError("message has no DKIM-Signature to tamper with")
    field = fields[0]
    value_at = field.start + len(field.name) + 1
    value = field.value(message)
    tag = re.search(rb"(?:^|;)\s*b\s*=", value)
    if tag is None:
        raise ValueError("the first DKIM-Signature has no b= tag")
    end = value.find(b";", tag.end())
    end = len(value) if end < 0 else end
    # the middle base64 character: changing it always changes the decoded signature (the last
    # character may carry only padding bits)
    chars = [i for i in range(tag.end(), end) if value[i:i + 1] not in b" \t\r\n="]
    if len(chars) < 3:
        raise ValueError("the first DKIM-Signature has an empty b= tag")
    at = value_at + chars[len(chars) // 2]
    new = b"B" if message[at:at + 1] == b"A" else b"A"
    return "signature-b-altered", message[:at] + new + message[at + 1:]


def tamper_variants(message: bytes) -> list[tuple[str, bytes]]:
    """Copies of a signed message that every correct verifier must reject: a body byte changed,
    the Subject changed, a second From prepended (caught only if the signer over-signs From),
    and the first DKIM-Signature's b= altered. Raises ValueError if the message has no Subject
    or no DKIM-Signature."""
    return [_change_body_byte(message), _change_subject(message), _prepend_from(message),
            _alter_b_tag(message)]


# ---------------------------------------------------------------------------------------------
# Corpus

_DATE = "Sat, 01 Jul 2023 12:00:00 +0000"


def _lines(*lines):
    return b"".join((x.encode() if isinstance(x, str) else x) + b"\r\n" for x in lines)


def _crlf(text):
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _base64_lines(data):
    return _crlf(base64.encodebytes(data))


def _encoded_word(text):
    return "=?UTF-8?B?" + base64.b64encode(text.encode()).decode() + "?="


def _text_block(size, seed):
    """About `size` bytes of varied text lines, the same every time."""
    words = [b"alpha", b"bravo", b"charlie", b"delta", b"echo", b"foxtrot", b"golf",
             b"hotel", b"india", b"juliet", b"kilo", b"lima", b"mike", b"november"]
    out = []
    total = 0
    n = 0
    while total < size:
        line = b"%s %08d " % (seed, n) + b" ".join(words[(n + k) % len(words)]
                                                    for k in range(n % 9 + 3)) + b"\r\n"
        out.append(line)
        total += len(line)
        n += 1
    return b"".join(out)


def _huge_body(size):
    """About `size` bytes of CRLF lines: copies of one 1 MiB block, each after a line with its
    number, so a streaming hasher that drops, repeats or swaps chunks gets another hash."""
    block = _text_block(1 << 20, b"huge")
    parts = []
    total = 0
    n = 0
    while total < size:
        part = b"block %06d\r\n" % n + block
        parts.append(part)
        total += len(part)
        n += 1
    body = b"".join(parts)
    cut = body.rfind(b"\r\n", 0, size) + 2
    return body[:cut]


def make_corpus(from_addr: str = "user@example.org",
                to_addr: str = "dest@example.net") -> list[tuple[str, bytes]]:
    """Test messages (name, bytes) with CRLF line endings, each with exactly one
    "From: <from_addr>" header field and a Subject. Deterministic; includes a 30 MB body."""
    domain = from_addr.rpartition("@")[2]
    corpus = []

    def add(name, headers, body, subject=None):
        """headers: fields after From (written first), without line ends; folding inside.
        With a subject, To/Subject/Date/Message-ID come first. A body of None means not even
        the empty line that ends the header."""
        top = [f"From: {from_addr}"]
        if subject is not None:
            top += [f"To: {to_addr}", f"Subject: {subject}", f"Date: {_DATE}",
                    f"Message-ID: <{name}@{domain}>"]
        header = _lines(*top, *headers)
        corpus.append((name, header if body is None else header + b"\r\n" + body))

    add("plain-ascii-short", [],
        _lines("Hello,", "", "this is a short plain ASCII message.", "", "-- ", "sender"),
        subject="plain ASCII")
    add("empty-body", [], b"", subject="no body at all")
    add("headers-only-no-separator", [], None, subject="header block, no empty line")
    add("body-only-blank-lines", [], b"\r\n" * 5, subject="body of blank lines")
    add("body-starts-with-blank-lines", [], _lines("", "", "text after two blank lines"),
        subject="leading blank lines")
    add("trailing-blank-lines", [], _lines("text, then four blank lines", "", "", "", ""),
        subject="trailing blank lines")
    add("trailing-whitespace", [],
        _lines("trailing spaces   ", "trailing tab\t", "mixed \t \t", "   ", "\t", "end"),
        subject="trailing whitespace")
    add("whitespace-runs", [],
        _lines("runs    of     spaces", "tabs\t\tbetween\twords", "\tleading tab",
               "   leading spaces", "mixed \t \t  inside \t words"),
        subject="runs of spaces and tabs")
    add("folded-subject", [], _lines("see the subject"),
        subject="This subject is long enough that the sender folded it\r\n over several"
                " lines,\r\n  with more than one space\r\n after some of the folds")
    tos = [to_addr] + [f"recipient{i:02d}@example.net" for i in range(1, 30)]
    add("to-30-addresses-folded",
        ["To: " + ",\r\n ".join(tos), "Subject: thirty recipients", f"Date: {_DATE}",
         f"Message-ID: <to-30-addresses-folded@{domain}>"],
        _lines("one message, thirty recipients"))
    add("header-tab-folding",
        [f"To: {to_addr}", "Subject: folded with tabs\r\n\tsecond line\r\n\t\tthird line",
         f"Date: {_DATE}", f"Message-ID: <header-tab-folding@{domain}>",
         "Reply-To: replies\r\n\t<replies@example.org>"],
        _lines("folding with tabs"))
    add("header-no-space-after-colon",
        [f"To:{to_addr}", "Subject:no space after the colon", f"Date:{_DATE}",
         f"Message-ID:<no-space@{domain}>"],
        _lines("colons without a space"))
    add("header-tab-after-colon",
        [f"To:\t{to_addr}", "Subject:\ta tab after the colon", f"Date: {_DATE}",
         f"Message-ID: <tab-after-colon@{domain}>"],
        _lines("a tab after the colon"))
    add("header-folded-after-colon",
        [f"To:\r\n {to_addr}", "Subject:\r\n the value starts on a continuation line",
         f"Date: {_DATE}", f"Message-ID: <folded-after-colon@{domain}>"],
        _lines("value on the continuation line"))
    add("empty-subject", [f"To: {to_addr}", "Subject: ", f"Date: {_DATE}",
                          f"Message-ID: <empty-subject@{domain}>"],
        _lines("the subject is empty"))
    add("utf8-8bit-body-encoded-word-subject",
        ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
         "Content-Transfer-Encoding: 8bit"],
        _lines("Grüße aus Köln – „Anführungszeichen“ …".encode(),
               "Ελληνικά, русский, 日本語, עברית, العربية".encode(),
               "emoji: 📬✉️ and a combining accent: e\u0301".encode()),
        subject=_encoded_word("Grüße aus Köln ✓"))
    add("utf8-raw-headers",
        [f"To: \"Jürgen Müller\" <{to_addr}>".encode(),
         "Subject: Grüße, 你好, привет (raw UTF-8, SMTPUTF8 style)".encode(),
         f"Date: {_DATE}", f"Message-ID: <utf8-raw-headers@{domain}>",
         "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
         "Content-Transfer-Encoding: 8bit"],
        _lines("Körper mit UTF-8".encode()))
    add("latin1-8bit-body",
        ["MIME-Version: 1.0", "Content-Type: text/plain; charset=iso-8859-1",
         "Content-Transfer-Encoding: 8bit"],
        _lines(b"caf\xe9, na\xefve, \xfcber, \xa9 2023"),
        subject="ISO-8859-1 body")
    add("quoted-printable-soft-breaks",
        ["MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8",
         "Content-Transfer-Encoding: quoted-printable"],
        _lines("A long line that a quoted-printable encoder broke with a soft line bre=",
               "ak, an encoded =C3=BC and a trailing space encoded as =20",
               "and a literal equals sign =3D"),
        subject="quoted-printable")
    add("multipart-alternative",
        ["MIME-Version: 1.0", 'Content-Type: multipart/alternative; boundary="alt-1"'],
        _lines("This is a multi-part message in MIME format.", "",
               "--alt-1", "Content-Type: text/plain; charset=us-ascii", "",
               "Plain text part.", "",
               "--alt-1", "Content-Type: text/html; charset=us-ascii", "",
               "<html><body><p>HTML <b>part</b>.</p></body></html>", "",
               "--alt-1--"),
        subject="text and html")
    attachment = _base64_lines(bytes(range(256)) * 12)
    add("multipart-mixed-base64-attachment",
        ["MIME-Version: 1.0", 'Content-Type: multipart/mixed;\r\n boundary="mixed-1"'],
        _lines("--mixed-1", "Content-Type: text/plain; charset=us-ascii", "",
               "See the attachment.", "",
               "--mixed-1", "Content-Type: application/octet-stream",
               "Content-Transfer-Encoding: base64",
               'Content-Disposition: attachment; filename="bytes.bin"', "")
        + attachment + _lines("--mixed-1--"),
        subject="with an attachment")
    add("nested-multipart",
        ["MIME-Version: 1.0", 'Content-Type: multipart/mixed; boundary="outer"'],
        _lines("--outer", 'Content-Type: multipart/alternative; boundary="middle"', "",
               "--middle", "Content-Type: text/plain; charset=us-ascii", "", "plain", "",
               "--middle", 'Content-Type: multipart/related; boundary="inner"', "",
               "--inner", "Content-Type: text/html; charset=us-ascii", "",
               '<p>html with an image <img src="cid:dot@example.org"></p>', "",
               "--inner", "Content-Type: image/gif", "Content-ID: <dot@example.org>",
               "Content-Transfer-Encoding: base64", "",
               "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "",
               "--inner--", "", "--middle--", "",
               "--outer", "Content-Type: application/octet-stream",
               "Content-Transfer-Encoding: base64", "")
        + _base64_lines(bytes(range(255, -1, -1)) * 3) + _lines("--outer--", "",
                                                                "epilogue text"),
        subject="nested multipart")
    add("body-70k", [], _text_block(70 * 1024, b"medium"), subject="70 KB body")
    add("body-30m", [], _huge_body(30 * 1024 * 1024), subject="30 MB body")
    add("many-standard-headers",
        [f"To: Dest <{to_addr}>", "Cc: copy1@example.net, \"Copy Two\" <copy2@example.net>",
         f"Reply-To: replies@{domain}", f"Sender: list-bounces@{domain}",
         "Subject: Re: a thread on a list", f"Date: {_DATE}",
         f"Message-ID: <many-standard-headers@{domain}>",
         "In-Reply-To: <parent@example.net>",
         "References: <root@example.net>\r\n <child@example.net>\r\n <parent@example.net>",
         f"List-Id: Test list <test.lists.{domain}>",
         f"List-Unsubscribe: <mailto:test-unsubscribe@{domain}>,\r\n"
         f" <https://lists.{domain}/unsubscribe/test>",
         "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
         f"List-Post: <mailto:test@{domain}>", f"List-Help: <mailto:test-help@{domain}>",
         f"List-Subscribe: <mailto:test-subscribe@{domain}>",
         f"List-Owner: <mailto:test-owner@{domain}>",
         f"List-Archive: <https://lists.{domain}/archive/test>",
         "MIME-Version: 1.0", "Content-Type: text/plain; charset=us-ascii; format=flowed",
         "Content-Transfer-Encoding: 7bit", "Content-Language: en",
         "Content-Description: a plain body",
         "Received: from client.example.net (client.example.net [192.0.2.1])\r\n"
         f"\tby mx.{domain} (Postfix) with ESMTPS id 4AB12C0DEF\r\n\tfor <{to_addr}>; {_DATE}"],
        _lines("a message with every common header"))
    add("many-x-headers", [f"X-Trace-{i:03d}: hop {i}" for i in range(100)],
        _lines("one hundred extra header fields"), subject="many header fields")
    add("long-unfolded-header", ["X-Long: " + "0123456789abcdef" * 56],
        _lines("a 900-character Subject and X-Long, unfolded"),
        subject=("long subject " * 70).strip())
    add("body-lines-starting-with-dot", [],
        _lines(".", "..", ".leading dot", "...three", "middle . dot", ".\t", "end"),
        subject="lines starting with a dot")
    add("body-from-lines", [],
        _lines("From the start of a line (mbox would escape this)", ">From quoted",
               "  From indented"),
        subject="From at the start of body lines")
    add("no-final-crlf", [], b"first line\r\nlast line without CRLF",
        subject="body without a final CRLF")
    add("long-line-2000", [],
        _lines("".join(chr(ord("a") + i % 26) for i in range(2000)), "short line after"),
        subject="a 2000-character line")
    add("odd-case-header-names",
        [f"tO: {to_addr}", "sUbJeCt: header names in odd case", f"dAtE: {_DATE}",
         f"MESSAGE-id: <odd-case@{domain}>", "mime-VERSION: 1.0",
         "content-TYPE: text/plain; charset=us-ascii"],
        _lines("odd case"))
    add("duplicate-to",
        [f"To: {to_addr}", "Subject: two To fields", f"Date: {_DATE}",
         "To: second@example.net", f"Message-ID: <duplicate-to@{domain}>"],
        _lines("two To fields"))
    return corpus


# ---------------------------------------------------------------------------------------------
# CLI


def _txt_argument(text):
    name, sep, value = text.partition("=")
    if not sep or not name or not value:
        raise argparse.ArgumentTypeError(f"want NAME=VALUE, got {text!r}")
    return name, value


def _cli_verify(args):
    with open(args.file, "rb") as f:
        message = f.read()
    records = dict(args.txt)
    failed = unsupported = False
    for label, verify in (("python-dkim", verify_python), ("opendkim", verify_opendkim)):
        try:
            ok, detail = verify(message, records)
        except VerifierUnsupported as e:
            unsupported = True
            print(f"{label}: UNSUPPORTED: {e}")
            continue
        failed |= not ok
        print(f"{label}: {'PASS' if ok else 'FAIL'}\n  " + detail.replace("\n", "\n  "))
    # 1: a verifier rejected; 2: none rejected but one could not judge
    return 1 if failed else 2 if unsupported else 0


def _cli_corpus(args):
    os.makedirs(args.dir, exist_ok=True)
    for i, (name, message) in enumerate(make_corpus(args.from_addr, args.to_addr), 1):
        path = os.path.join(args.dir, f"{i:02d}-{name}.eml")
        with open(path, "wb") as f:
            f.write(message)
        print(f"{path} ({len(message)} bytes)")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="verify FILE with python-dkim and opendkim -t")
    verify.add_argument("file")
    verify.add_argument("--txt", type=_txt_argument, action="append", default=[],
                        metavar="NAME=VALUE",
                        help="a DKIM key record, e.g. sel._domainkey.example.org='v=DKIM1; ...'")
    verify.set_defaults(run=_cli_verify)
    corpus = sub.add_parser("corpus", help="write the test corpus into DIR")
    corpus.add_argument("dir")
    corpus.add_argument("--from", dest="from_addr", default="user@example.org")
    corpus.add_argument("--to", dest="to_addr", default="dest@example.net")
    corpus.set_defaults(run=_cli_corpus)
    args = parser.parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
