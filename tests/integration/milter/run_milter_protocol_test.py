#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""Milter-protocol test of vhostmail-milter with a real MariaDB, without Postfix.

usage: run_milter_protocol_test.py MILTER ADMIN SOURCE_DIR

Two parts, against the same private MariaDB (docs/specification.md's example data, plus
ann@lala.com; RSA "r1" and Ed25519 "e1" keys for blobber.org made and activated with
`vhostmail dkim keygen/activate`, their records from `vhostmail --json dkim show`):

1. Decisions, driven by Debian's miltertest(8) with the Lua scripts in miltertest/ (one per
   decision, sharing miltertest/common.lua; `miltertest -D socket=unix:PATH -D
   common=.../common.lua -s SCRIPT`, exit 0 when every reply was right):
   an owned From signed with both keys at end of message, a foreign From and two From fields
   refused, unauthenticated mail accepted at MAIL, a domain without a key accepted unsigned
   (and logged), and with the database stopped an authenticated message deferred.
   miltertest keeps only the command byte of a reply given before end of message, so the
   SMTP code and text of those refusals are checked here too, with this script's own milter
   client, and in the milter's log.

2. Corpus signing: every message of dkim_verify.make_corpus() goes through the milter as
   Postfix hands it over (SASL login macro; header values exactly what follows the colon,
   folded lines joined with LF; the body in chunks of at most 65535 bytes), once per
   milter_canonicalization (relaxed/relaxed, relaxed/simple, simple/simple; one milter
   instance each). The message is rebuilt as Postfix writes it (the inserted DKIM-Signature
   fields where the milter inserted them, LF in their values made CRLF) and verified with
   python3-dkim and `opendkim -t`; every dkim_verify.tamper_variants() copy must fail both.
   A table of canonicalization x algorithm -> messages verified is printed.

   This part speaks the milter protocol itself (a small MTA-side client below) rather than
   going through miltertest, whose 1.6.0 copies each header into a 1024-byte stack buffer
   without a bound check (a 3000-byte Subject: "stack smashing detected"), reads every reply
   into another such buffer, sends mt.bodyfile() in 65536-byte chunks (libmilter's default
   limit is 65535: it drops the connection) and cannot report the reply text before end of
   message; a Python client also sees every byte of every reply.

   The 30 MB corpus message is left out unless VHM_MILTER_CORPUS_30MB=1: with its tampered
   copies it adds about 50 s (the whole test then takes about 80 s instead of 30 s, most of
   the difference python3-dkim's relaxed body canonicalization); run_milter_test.py already
   signs a 30 MB message through Postfix and verifies it.

Exits 77 when MariaDB or miltertest is not installed.
"""

import collections
import contextlib
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
import dkim_verify  # noqa: E402
import milter_keys  # noqa: E402
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

SCRIPTS = os.path.join(HERE, "miltertest")
CANONICALIZATIONS = ("relaxed/relaxed", "relaxed/simple", "simple/simple")
SELECTORS = {"r1": "rsa-sha256", "e1": "ed25519-sha256"}
LARGE_CORPUS_MESSAGES = {"body-30m"}

# ---------------------------------------------------------------------------------------------
# The MTA side of the milter protocol (libmilter's mfdef.h): every packet is a 32-bit length in
# network order, then one command byte, then length - 1 bytes of data.

PROTOCOL_VERSION = 6
SMFIC_BODY, SMFIC_CONNECT, SMFIC_MACRO, SMFIC_BODYEOB = b"B", b"C", b"D", b"E"
SMFIC_HEADER, SMFIC_MAIL, SMFIC_EOH, SMFIC_OPTNEG, SMFIC_QUIT = b"L", b"M", b"N", b"O", b"Q"
SMFIR_ACCEPT, SMFIR_CONTINUE, SMFIR_DISCARD, SMFIR_ADDHEADER = b"a", b"c", b"d", b"h"
SMFIR_INSHEADER, SMFIR_PROGRESS, SMFIR_REJECT, SMFIR_TEMPFAIL = b"i", b"p", b"r", b"t"
SMFIR_REPLYCODE, SMFIR_SKIP = b"y", b"s"
FINAL_REPLIES = {SMFIR_ACCEPT, SMFIR_CONTINUE, SMFIR_DISCARD, SMFIR_REJECT, SMFIR_TEMPFAIL,
                 SMFIR_REPLYCODE, SMFIR_SKIP}
SMFIF_ADDHDRS = 0x1
SMFI_CURR_ACTS = 0x1FF  # what Postfix 3 offers: every action, SMFIF_SETSYMLIST included
SMFIP = {"NOCONNECT": 0x1, "NOHELO": 0x2, "NOMAIL": 0x4, "NORCPT": 0x8, "NOBODY": 0x10,
         "NOHDRS": 0x20, "NOEOH": 0x40, "NR_HDR": 0x80, "NOUNKNOWN": 0x100, "NODATA": 0x200,
         "SKIP": 0x400, "RCPT_REJ": 0x800, "NR_CONN": 0x1000, "NR_HELO": 0x2000,
         "NR_MAIL": 0x4000, "NR_RCPT": 0x8000, "NR_DATA": 0x10000, "NR_UNKN": 0x20000,
         "NR_EOH": 0x40000, "NR_BODY": 0x80000, "HDR_LEADSPC": 0x100000}
SMFI_CURR_PROT = 0x1FFFFF  # every step flag of protocol 6
SMFIM_STAGES = {0: "connect", 1: "helo", 2: "envfrom", 3: "envrcpt", 4: "data", 5: "eom",
                6: "eoh"}
MAX_BODY_CHUNK = 65535  # MILTER_CHUNK_SIZE

Outcome = collections.namedtuple("Outcome", "stage reply text modifications")


class ProtocolError(RuntimeError):
    pass


class milter_session:
    """One MTA connection to a milter: negotiate(), then connect/macro/mail/header/eoh/body/eom.
    Each step returns the milter's reply as (command byte, data), or None where the milter
    negotiated not to reply to that step (as an MTA, we then wait for nothing)."""

    def __init__(self, path, timeout=120):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.version = self.actions = self.steps = 0
        self.symlists = {}

    def close(self):
        with contextlib.suppress(OSError):
            self._send(SMFIC_QUIT)
        self.sock.close()

    def _send(self, command, data=b""):
        self.sock.sendall(struct.pack("!I", len(data) + 1) + command + data)

    def _exactly(self, n):
        out = bytearray()
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                raise ProtocolError(f"the milter closed the connection ({len(out)}/{n} bytes)")
            out += chunk
        return bytes(out)

    def _read(self):
        (length,) = struct.unpack("!I", self._exactly(4))
        if length < 1:
            raise ProtocolError("a packet of length 0")
        packet = self._exactly(length)
        return packet[:1], packet[1:]

    def _reply(self, no_reply_step=None):
        if no_reply_step is not None and self.steps & SMFIP[no_reply_step]:
            return None
        while True:
            command, data = self._read()
            if command != SMFIR_PROGRESS:
                return command, data

    def negotiate(self, actions=SMFI_CURR_ACTS, steps=SMFI_CURR_PROT):
        self._send(SMFIC_OPTNEG, struct.pack("!III", PROTOCOL_VERSION, actions, steps))
        command, data = self._read()
        if command != SMFIC_OPTNEG or len(data) < 12:
            raise ProtocolError(f"negotiation answered with {command!r} {data[:40]!r}")
        self.version, self.actions, self.steps = struct.unpack("!III", data[:12])
        rest = data[12:]
        while len(rest) >= 4:  # SMFIF_SETSYMLIST: (stage, "macro macro...\0") pairs
            (stage,) = struct.unpack("!I", rest[:4])
            names, _, rest = rest[4:].partition(b"\0")
            self.symlists[SMFIM_STAGES.get(stage, str(stage))] = names.decode().split()

    def connect(self, host, address, port):
        family = b"6" if ":" in address else b"4"
        self._send(SMFIC_CONNECT, host.encode() + b"\0" + family + struct.pack("!H", port)
                   + address.encode() + b"\0")
        return self._reply("NR_CONN")

    def macros(self, stage_command, values):
        data = stage_command + b"".join(k.encode() + b"\0" + v.encode() + b"\0"
                                        for k, v in values.items())
        self._send(SMFIC_MACRO, data)

    def mail(self, sender):
        self._send(SMFIC_MAIL, sender.encode() + b"\0")
        return self._reply("NR_MAIL")

    def header(self, name, value):
        if not self.steps & SMFIP["HDR_LEADSPC"]:
            value = value.lstrip(b" \t")  # what an MTA does for a milter that did not ask
        self._send(SMFIC_HEADER, name + b"\0" + value + b"\0")
        return self._reply("NR_HDR")

    def eoh(self):
        self._send(SMFIC_EOH)
        return self._reply("NR_EOH")

    def body(self, chunk):
        self._send(SMFIC_BODY, chunk)
        return self._reply("NR_BODY")

    def eom(self):
        """The final reply and the modification requests before it [(command, data)]."""
        self._send(SMFIC_BODYEOB)
        modifications = []
        while True:
            command, data = self._reply()
            if command in FINAL_REPLIES:
                return (command, data), modifications
            modifications.append((command, data))


def split_header(message):
    """[(name, raw field bytes)] of the header, and the rest of the message (the empty line and
    the body; b"" when the message is all header)."""
    fields = []
    pos = 0
    while pos < len(message):
        end = message.find(b"\n", pos)
        end = len(message) if end < 0 else end + 1
        line = message[pos:end]
        if line in (b"\r\n", b"\n"):
            return fields, message[pos:]
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + line)
        else:
            fields.append((line.split(b":", 1)[0], line))
        pos = end
    return fields, b""


def milter_value(field, name):
    """A header field's value as Postfix hands it to a milter that asked for
    SMFIP_HDR_LEADSPC: all that follows the colon, folded lines joined with LF, no final line
    end."""
    value = field[len(name) + 1:]
    if value.endswith(b"\r\n"):
        value = value[:-2]
    elif value.endswith(b"\n"):
        value = value[:-1]
    return value.replace(b"\r\n", b"\n")


def reply_text(reply):
    if reply is None:
        return "(no reply)"
    command, data = reply
    return command.decode() + (" " + data.rstrip(b"\0").decode(errors="replace")
                               if data else "")


def send_message(path, message, login, queue_id, client=("client.example.net", "192.0.2.10",
                                                          41234)):
    """Sends one message as Postfix's smtpd would after SMTP AUTH as `login` (None: not logged
    in); stops where the milter gives a final answer, as Postfix does. An Outcome: the stage
    (mail, header, eoh, body, eom), the reply (command, data) and the modification requests."""
    session = milter_session(path)
    try:
        session.negotiate()
        reply = session.connect(*client)
        if reply is not None and reply[0] != SMFIR_CONTINUE:
            return Outcome("connect", reply, reply_text(reply), [])
        macros = {"i": queue_id, "{mail_addr}": login or "someone@example.net"}
        if login:
            macros.update({"{auth_type}": "PLAIN", "{auth_authen}": login})
        session.macros(SMFIC_MAIL, macros)
        reply = session.mail(f"<{login or 'someone@example.net'}>")
        if reply is not None and reply[0] != SMFIR_CONTINUE:
            return Outcome("mail", reply, reply_text(reply), [])
        fields, rest = split_header(message)
        for name, field in fields:
            reply = session.header(name, milter_value(field, name))
            if reply is not None and reply[0] != SMFIR_CONTINUE:
                return Outcome("header", reply, reply_text(reply), [])
        reply = session.eoh()
        if reply is not None and reply[0] != SMFIR_CONTINUE:
            return Outcome("eoh", reply, reply_text(reply), [])
        body = rest[2:] if rest.startswith(b"\r\n") else rest[1:]
        for at in range(0, len(body), MAX_BODY_CHUNK):
            reply = session.body(body[at:at + MAX_BODY_CHUNK])
            if reply is not None and reply[0] not in (SMFIR_CONTINUE, SMFIR_SKIP):
                return Outcome("body", reply, reply_text(reply), [])
            if reply is not None and reply[0] == SMFIR_SKIP:
                break
        reply, modifications = session.eom()
        return Outcome("eom", reply, reply_text(reply), modifications)
    finally:
        session.close()


def inserted_fields(modifications):
    """[(index or None for appended, name, value)] of the header additions; raises
    ProtocolError for any other modification."""
    out = []
    for command, data in modifications:
        if command == SMFIR_INSHEADER:
            (index,) = struct.unpack("!I", data[:4])
            name, value, _ = data[4:].split(b"\0", 2)
            out.append((index, name, value))
        elif command == SMFIR_ADDHEADER:
            name, value, _ = data.split(b"\0", 2)
            out.append((None, name, value))
        else:
            raise ProtocolError(f"unexpected modification {command!r}: {data[:60]!r}")
    return out


def as_postfix_writes(message, modifications):
    """The message with the milter's header additions applied the way Postfix applies them:
    an insertion at index N goes before the N-th field (0: at the top), in the order requested;
    LF in a value becomes CRLF; with SMFIP_HDR_LEADSPC the value is written right after the
    colon."""
    fields, rest = split_header(message)
    lines = [field for _, field in fields]
    for index, name, value in inserted_fields(modifications):
        line = name + b":" + value.replace(b"\n", b"\r\n") + b"\r\n"
        if index is None:
            lines.append(line)
        else:
            lines.insert(min(index, len(lines)), line)
    return b"".join(lines) + rest


def signature_tags(value):
    flat = re.sub(rb"\s+", b"", value).decode(errors="replace")
    return dict(re.findall(r"([a-z]+)=([^;]*)", flat))


# ---------------------------------------------------------------------------------------------
# Setup


def make_keys(tool, db, tmp):
    """The keys of milter_keys (as run_milter_test.py makes them)."""
    records = milter_keys.make_keys(tool, db, tmp)
    check("dkim show: both selectors of blobber.org",
          sorted(n for n in records if n.endswith("._domainkey.blobber.org")),
          ["e1._domainkey.blobber.org", "r1._domainkey.blobber.org"])
    return records


def milter_config(base, tmp, name, canonicalization):
    return base + (f"milter_listen = unix:{tmp}/{name}.sock\n"
                   "milter_socket_group =\nmilter_socket_mode = 0666\n"
                   f"milter_canonicalization = {canonicalization}\n")


def no_sanitizer_report(milter, what):
    log = milter.log()
    check(f"{what}: no crash or sanitizer report", "ERROR: " in log or "runtime error" in log,
          False)


# ---------------------------------------------------------------------------------------------
# Part 1: decisions


def run_lua(script, sock):
    """Runs one miltertest script against the milter socket; (exit code, output)."""
    p = subprocess.run(["miltertest", "-D", f"socket=unix:{sock}", "-D",
                        f"common={os.path.join(SCRIPTS, 'common.lua')}", "-s",
                        os.path.join(SCRIPTS, script)], capture_output=True, text=True,
                       errors="replace", timeout=120)
    return p.returncode, (p.stdout + p.stderr).strip()


def lua_case(script, sock, milter, log_pattern=None, absent=None):
    start = milter.log_size()
    code, output = run_lua(script, sock)
    check(f"miltertest {script}: exit 0 ({output.splitlines()[-1] if output else ''})", code, 0)
    if code != 0:
        print("  " + output.replace("\n", "\n  "))
    if log_pattern:
        found = vhm_daemon.wait_for(lambda: re.search(log_pattern, milter.log()[start:]),
                                    timeout=5)
        check(f"{script}: the milter logged /{log_pattern}/", found, True)
    if absent:
        check(f"{script}: the milter logged nothing about {absent}",
              absent in milter.log()[start:], False)


OWNED = (b"From: Xandros Blob <xandros@blobber.org>\r\nTo: <friend@example.net>\r\n"
         b"Subject: own From\r\nDate: Mon, 07 Dec 2026 10:00:00 +0000\r\n"
         b"Message-ID: <own.from@client.vhostmail.test>\r\n\r\nHello.\r\n")


def decision_cases(sock, milter, db, records):
    # What the milter asks for, seen by our client (miltertest's view is in the scripts).
    session = milter_session(sock)
    try:
        session.negotiate()
    finally:
        session.close()
    want_steps = ["NOHELO", "NORCPT", "NOUNKNOWN", "NODATA", "HDR_LEADSPC", "NR_CONN",
                  "NR_HDR", "NR_BODY"]
    check("negotiation: protocol 6, SMFIF_ADDHDRS only, the steps of milter_glue.cc",
          (session.version, session.actions,
           sorted(k for k, v in SMFIP.items() if session.steps & v)),
          (6, SMFIF_ADDHDRS, sorted(want_steps)))
    check("negotiation: {auth_authen} asked for at MAIL, i at EOH and EOM",
          ("{auth_authen}" in session.symlists.get("envfrom", []),
           "i" in session.symlists.get("eoh", []), "i" in session.symlists.get("eom", [])),
          (True, True, True))

    lua_case("owned_from_signed.lua", sock, milter,
             r"MTOWNED: signed: from=<xandros@blobber.org> login=xandros@blobber.org: "
             r"d=blobber.org s=(r1|e1) a=\S+, d=blobber.org s=(e1|r1) ")
    lua_case("foreign_from_rejected.lua", sock, milter,
             r"MTFOREIGN: reject: login=xandros@blobber.org: From address <vivita@blobber.org>"
             r" is not owned by user xandros@blobber.org")
    lua_case("two_from_rejected.lua", sock, milter,
             r"MTTWOFROM: reject: login=xandros@blobber.org: Message has several From headers")
    lua_case("unauthenticated_accepted.lua", sock, milter, absent="MTUNAUTH")
    lua_case("no_key_unsigned.lua", sock, milter, r"no active DKIM key for lala\.com")

    # The codes and texts miltertest cannot show (replies before end of message).
    foreign = OWNED.replace(b"From: Xandros Blob <xandros@blobber.org>",
                            b"From: <vivita@blobber.org>")
    out = send_message(sock, foreign, "xandros@blobber.org", "PYFOREIGN")
    check("foreign From: 550 5.7.1 with the reason, at end of header", (out.stage, out.text),
          ("eoh", "y 550 5.7.1 From address <vivita@blobber.org> is not owned by user "
                  "xandros@blobber.org"))
    two = OWNED.replace(b"To:", b"From: <vivita@blobber.org>\r\nTo:")
    out = send_message(sock, two, "xandros@blobber.org", "PYTWOFROM")
    check("two From fields: 550 5.7.1 with the reason, at end of header", (out.stage, out.text),
          ("eoh", "y 550 5.7.1 Message has several From headers (RFC 6376 8.15)"))
    out = send_message(sock, OWNED, None, "PYUNAUTH")
    check("unauthenticated: accepted at MAIL", (out.stage, out.text), ("mail", "a"))
    out = send_message(sock, OWNED.replace(b"Xandros Blob <xandros@blobber.org>",
                                           b"<ann@lala.com>"), "ann@lala.com", "PYNOKEY")
    check("domain without a key: accepted at end of header", (out.stage, out.text),
          ("eoh", "a"))
    out = send_message(sock, OWNED, "xandros@blobber.org", "PYOWNED")
    signed = as_postfix_writes(OWNED, out.modifications) if out.stage == "eom" else b""
    check("owned From: accepted at end of message with two insertions",
          (out.stage, out.text, len(out.modifications)), ("eom", "a", 2))
    if signed:
        results = [verify_counted(verify, signed, records) for _, verify in VERIFIERS]
        check("owned From: both verifiers pass (" + " / ".join(r[2] for r in results)
              .replace("\n", "; ") + ")", [r[0] for r in results], ["pass", "pass"])
    check("no key: said once (miltertest and our client sent one message each)",
          milter.log().count("no active DKIM key for lala.com"), 1)

    db.stop()
    try:
        time.sleep(1.5)
        lua_case("database_down_tempfail.lua", sock, milter,
                 r"MTDBDOWN: defer: login=xandros@blobber.org: Temporary sender check problem")
        out = send_message(sock, OWNED, "xandros@blobber.org", "PYDBDOWN")
        check("database down: 451 4.3.0 at end of header", (out.stage, out.text),
              ("eoh", "y 451 4.3.0 Temporary sender check problem, try again later"))
        out = send_message(sock, OWNED, None, "PYDBDOWNUNAUTH")
        check("database down: unauthenticated mail still accepted at MAIL",
              (out.stage, out.text), ("mail", "a"))
    finally:
        db.start()
    back = vhm_daemon.wait_for(
        lambda: send_message(sock, OWNED, "xandros@blobber.org", "PYDBBACK").text == "a",
        timeout=30, interval=0.5)
    check("database back: owned From accepted and signed again", back, True)


# ---------------------------------------------------------------------------------------------
# Part 2: the corpus


def verify_counted(verify, message, records):
    """("pass"/"fail"/"unsupported", {algorithm: passed?}, detail)."""
    try:
        ok, detail = verify(message, records)
    except dkim_verify.VerifierUnsupported as e:
        return "unsupported", {}, str(e)
    per_alg = {}
    for line in detail.splitlines():
        m = re.search(r"signature \d+/\d+ .*?a=(\S+).*: (pass|FAIL.*)$", line)
        if m:
            per_alg[m.group(1)] = per_alg.get(m.group(1), True) and m.group(2) == "pass"
    return ("pass" if ok else "fail"), per_alg, detail


VERIFIERS = (("python3-dkim", dkim_verify.verify_python), ("opendkim", dkim_verify.verify_opendkim))


class corpus_table:
    """Counts for the summary: per (canonicalization, algorithm, verifier) the messages
    verified, failed and not judged (with the reasons); per canonicalization the tampered
    copies and how each verifier took them, and the time."""

    def __init__(self):
        self.cells = collections.defaultdict(lambda: {"verified": 0, "failed": [],
                                                      "unsupported": []})
        self.tampered = collections.defaultdict(collections.Counter)
        self.seconds = collections.Counter()
        self.messages = collections.Counter()
        self.problems = []  # (name, canonicalization, {verifier: detail})


def corpus_case(sock, canonicalization, name, message, records, table):
    started = time.monotonic()
    table.messages[canonicalization] += 1
    out = send_message(sock, message, "xandros@blobber.org", "CORPUS")
    if out.stage != "eom" or out.reply[0] != SMFIR_ACCEPT:
        check(f"{canonicalization} {name}: accepted at end of message", (out.stage, out.text),
              ("eom", "a"))
        return
    try:
        inserted = inserted_fields(out.modifications)
    except ProtocolError as e:
        check(f"{canonicalization} {name}: only header insertions", str(e), "")
        return
    tags = [signature_tags(value) for _, _, value in inserted]
    check(f"{canonicalization} {name}: two DKIM-Signature fields inserted at index 0 (s=r1,"
          " s=e1, d=blobber.org, c= as configured), LF-folded values with a leading space",
          (sorted(n.decode() for _, n, _ in inserted), {i for i, _, _ in inserted},
           sorted((t.get("d"), t.get("s"), t.get("a"), t.get("c")) for t in tags),
           [v[:1] == b" " and b"\r" not in v for _, _, v in inserted]),
          (["DKIM-Signature", "DKIM-Signature"], {0},
           [("blobber.org", "e1", "ed25519-sha256", canonicalization),
            ("blobber.org", "r1", "rsa-sha256", canonicalization)], [True, True]))
    signed = as_postfix_writes(message, out.modifications)
    details = {}
    failed = False
    for label, verify in VERIFIERS:
        result, per_alg, detail = verify_counted(verify, signed, records)
        details[label] = detail
        for alg in SELECTORS.values():
            cell = table.cells[(canonicalization, alg, label)]
            if result == "unsupported":
                cell["unsupported"].append((name, detail))
            elif per_alg.get(alg):
                cell["verified"] += 1
            else:
                cell["failed"].append(name)
        failed |= result == "fail"
        check(f"{canonicalization} {name}: {label} "
              + ("could not judge it" if result == "unsupported" else "verifies"),
              result != "fail", True)
    if failed:
        table.problems.append((name, canonicalization, details))
    for variant, tampered in dkim_verify.tamper_variants(signed):
        verdicts = []
        for label, verify in VERIFIERS:
            try:
                judged = "accepted" if verify(tampered, records)[0] else "refused"
            except dkim_verify.VerifierUnsupported:
                judged = "not judged"
            verdicts.append(judged)
            table.tampered[canonicalization][(label, judged)] += 1
        table.tampered[canonicalization][("copies", "")] += 1
        check(f"{canonicalization} {name} {variant}: no verifier accepts it ({verdicts})",
              "accepted" in verdicts, False)
    table.seconds[canonicalization] += time.monotonic() - started


def corpus_cases(milter_bin, base, tmp, records):
    include_large = os.environ.get("VHM_MILTER_CORPUS_30MB") == "1"
    corpus = [(n, m) for n, m in dkim_verify.make_corpus(from_addr="xandros@blobber.org",
                                                       to_addr="friend@example.net")
              if include_large or n not in LARGE_CORPUS_MESSAGES]
    if not include_large:
        print(f"(corpus: {', '.join(sorted(LARGE_CORPUS_MESSAGES))} left out; "
              "VHM_MILTER_CORPUS_30MB=1 includes it)")
    table = corpus_table()
    for canonicalization in CANONICALIZATIONS:
        name = "milter-" + canonicalization.replace("/", "-")
        with vhm_daemon.daemon(milter_bin, milter_config(base, tmp, name, canonicalization),
                               tmp, name=name) as milter:
            milter.wait_for_log("routing data loaded")
            sock = f"{tmp}/{name}.sock"
            for message_name, message in corpus:
                corpus_case(sock, canonicalization, message_name, message, records, table)
            check(f"{name}: SIGTERM, clean exit", milter.terminate(), 0)
            no_sanitizer_report(milter, name)
    print_table(table)


def print_table(table):
    print("\nCorpus signed by the milter: messages verified / messages sent, per signature"
          " algorithm (U n: the verifier could not judge n of them)")
    print(f"{'canonicalization':17} {'algorithm':15} {'python3-dkim':>13} {'opendkim':>13}"
          "   tampered copies refused (python3-dkim, opendkim)   seconds")
    print(" " * 66 + "(per message: copies carry both signatures)")
    reasons = collections.Counter()
    for canonicalization in CANONICALIZATIONS:
        n = table.messages[canonicalization]
        t = table.tampered[canonicalization]
        for alg in SELECTORS.values():
            cells = []
            for label, _ in VERIFIERS:
                cell = table.cells[(canonicalization, alg, label)]
                u = len(cell["unsupported"])
                cells.append(f"{cell['verified']}/{n}" + (f" U{u}" if u else ""))
                for message_name, reason in cell["unsupported"]:
                    reasons[(label, canonicalization, message_name, reason)] += 1
            tampered = (f"{t[('python3-dkim', 'refused')]}/{t[('copies', '')]}, "
                        f"{t[('opendkim', 'refused')]}/{t[('copies', '')]}"
                        + (f" (not judged: {t[('python3-dkim', 'not judged')]}, "
                           f"{t[('opendkim', 'not judged')]})"
                           if t[('python3-dkim', 'not judged')] or t[('opendkim', 'not judged')]
                           else ""))
            first = alg == next(iter(SELECTORS.values()))
            print((f"{canonicalization:17} {alg:15} {cells[0]:>13} {cells[1]:>13}   "
                   + (f"{tampered:48} {table.seconds[canonicalization]:8.1f}" if first else ""))
                  .rstrip())
    if reasons:
        print("\nNot judged (VerifierUnsupported), both algorithms of the message:")
        for (label, canonicalization, message_name, reason) in sorted(reasons):
            print(f"  {label}, {canonicalization}, {message_name}: {reason}")
    for name, canonicalization, details in table.problems:
        print(f"\nNOT VERIFIED: {name} ({canonicalization})")
        for label, detail in details.items():
            print(f"  {label}:\n    " + detail.replace("\n", "\n    "))


# ---------------------------------------------------------------------------------------------


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__.split("\n\n")[1])
    milter_bin, tool, source = sys.argv[1:4]
    vhm_mariadb.skip_unless_available()
    if shutil.which("miltertest") is None:
        print("SKIP: miltertest is not installed (Debian package miltertest)")
        sys.exit(vhm_mariadb.SKIP)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vhm-milterproto-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        base = vhm_daemon.base_config(db, tmp)
        vhm_daemon.spec_database(tool, db, source)
        db.sql("INSERT INTO addresses (domain_id, local_part, password) SELECT d.id, 'ann',"
               " a.password FROM domains d, addresses a WHERE d.name = 'lala.com' AND"
               " a.local_part = 'xandros'")
        records = make_keys(tool, db, tmp)

        with vhm_daemon.daemon(milter_bin, milter_config(base, tmp, "milter", "relaxed/relaxed"),
                               tmp, name="milter") as milter:
            milter.wait_for_log("routing data loaded")
            decision_cases(f"{tmp}/milter.sock", milter, db, records)
            check("decisions: SIGTERM, clean exit", milter.terminate(), 0)
            no_sanitizer_report(milter, "decisions")
            if failures:
                print("milter log:\n" + milter.log()[-6000:])
        decided = time.monotonic()
        corpus_cases(milter_bin, base, tmp, records)
    print(f"\ntimes: decisions {decided - started:.1f} s, corpus {time.monotonic() - decided:.1f}"
          f" s, total {time.monotonic() - started:.1f} s")
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
