#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Integration test: the Maildir++ maildirsize that vhostmail-deliver keeps (lib/store/quota.cc)
is the one Dovecot 2.3's maildir quota backend keeps, in both directions, with real data.

usage: run_quota_dovecot_test.py DELIVER ADMIN SOURCE_DIR

A private MariaDB holds ann@quota.example with a quota of 8000 bytes and 12 messages; a private
Dovecot (vhm_dovecot) has mail_location = maildir:<deliver_mail_base>/%d/%n (our default
mailbox path domain/local/), "quota = maildir:User quota" and no quota_rule, so it takes the
limits from the maildirsize header our delivery writes from the database. Both run as nobody.
"Agree" below means: the byte and message totals of the files in new/ and cur/ of every folder
(Trash too: Dovecot counts it) = the sums of maildirsize = doveadm quota get (STORAGE in KB
rounded up, as Dovecot prints it; MESSAGE), with Dovecot's limits = the database's.

1. Ours -> Dovecot: three deliveries; sizes and ,S=/,W= in the names are exact (doveadm fetch
   size.physical/size.virtual), the totals agree, and doveadm quota recalc rewrites the same
   numbers and keeps our limits.
2. Dovecot -> ours: doveadm save fills the mailbox to just under the limit; our delivery one
   byte too big is refused (exit 73, 5.2.2, nothing written), one of exactly the room left is
   delivered; then Dovecot refuses too (doveadm save exit 73). Dovecot marks mail \\Seen (names
   get :2,S) and expunges the filler: our next delivery fits again.
3. Recalculation: with mail in Archive and Trash (saved and moved by Dovecot), maildirsize
   removed, our delivery recalculates the numbers doveadm quota recalc computes; Dovecot's own
   recalculation without a file writes "0S" (no limits), which our next delivery replaces with
   the database's; a file saying "over quota" with more than one usage line is recalculated by
   Dovecot and by us alike.
4. The message limit: Dovecot saves up to 11 messages, our 12th fits, the 13th is refused by us
   and by Dovecot.
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vhm_daemon  # noqa: E402
import vhm_dovecot  # noqa: E402
import vhm_mariadb  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

USER = "ann@quota.example"
SENDER = "bob@remote.example"
LIMIT_BYTES = 8000
LIMIT_MESSAGES = 12
SETUP_SQL = f"""
INSERT INTO domains (name) VALUES ('quota.example');
INSERT INTO addresses (domain_id, local_part, mailbox, quota_bytes, quota_messages)
    SELECT id, 'ann', TRUE, {LIMIT_BYTES}, {LIMIT_MESSAGES} FROM domains
    WHERE name = 'quota.example';
"""
# What our delivery writes in front of the message (delivery.cc trace_headers).
PREFIX = f"Return-Path: <{SENDER}>\nDelivered-To: {USER}\n"
HEADER = f"{LIMIT_BYTES}S,{LIMIT_MESSAGES}C"


def kb(n):
    return (n + 1023) // 1024  # doveadm quota get: STORAGE in kilobytes, rounded up


def message(subject, size):
    """A message of exactly `size` bytes (LF line ends, lines of at most 77 bytes)."""
    head = f"From: {SENDER}\nSubject: {subject}\n\n"
    room = size - len(head)
    assert room >= 1, size
    lines = []
    while room > 77:
        lines.append("x" * 76 + "\n")
        room -= 77
    lines.append("y" * (room - 1) + "\n")
    return head + "".join(lines)


class mailbox:
    """The Maildir of USER as files (the truth both sides must count) and its maildirsize."""

    def __init__(self, mailbase):
        self.path = os.path.join(mailbase, "quota.example", "ann")

    def files(self):
        """[(folder, sub, name, size)] of new/ and cur/ of the Maildir and every .folder."""
        out = []
        folders = [""] + sorted(n for n in os.listdir(self.path)
                                if n.startswith(".") and n not in (".", "..") and
                                os.path.isdir(os.path.join(self.path, n)))
        for folder in folders:
            for sub in ("new", "cur"):
                d = os.path.join(self.path, folder, sub)
                for name in sorted(os.listdir(d)) if os.path.isdir(d) else []:
                    out.append((folder, sub, name, os.stat(os.path.join(d, name)).st_size))
        return out

    def totals(self):
        f = self.files()
        return sum(x[3] for x in f), len(f)

    def maildirsize_text(self):
        try:
            with open(os.path.join(self.path, "maildirsize")) as f:
                return f.read()
        except FileNotFoundError:
            return None

    def maildirsize(self):
        """(header, bytes, messages, usage lines) of maildirsize; None when it is missing."""
        text = self.maildirsize_text()
        if text is None:
            return None
        lines = text.split("\n")
        assert lines[-1] == "", text  # every line newline-terminated
        b = c = 0
        for ln in lines[1:-1]:
            x, y = ln.split()
            b, c = b + int(x), c + int(y)
        return lines[0], b, c, len(lines) - 2

    def write_maildirsize(self, text):
        p = os.path.join(self.path, "maildirsize")
        with open(p, "w") as f:
            f.write(text)
        nobody = pwd.getpwnam("nobody")
        os.chown(p, nobody.pw_uid, nobody.pw_gid)

    def remove_maildirsize(self):
        os.unlink(os.path.join(self.path, "maildirsize"))


class harness:
    def __init__(self, deliver, config, box, dv):
        self.deliver_bin, self.config, self.box, self.dv = deliver, config, box, dv

    def deliver(self, text):
        """vhostmail-deliver as the delivery user, as pipe(8) runs it: (exit code, output)."""
        def drop():
            nobody = pwd.getpwnam("nobody")
            os.setgid(nobody.pw_gid)
            os.setuid(nobody.pw_uid)
        p = subprocess.run([self.deliver_bin, "-c", self.config, "-f", SENDER, "--", USER],
                           input=text.encode(), capture_output=True, env={}, preexec_fn=drop,
                           timeout=60)
        return p.returncode, p.stdout.decode(errors="replace").strip()

    def save(self, text, folder="INBOX"):
        """doveadm save into `folder` (Dovecot's quota plugin appends to maildirsize)."""
        p = self.dv.doveadm("save", "-u", USER, "-m", folder, input=text)
        return p.returncode, p.stderr.strip()

    def doveadm_ok(self, what, *args):
        p = self.dv.doveadm(*args)
        check(what, (p.returncode, p.stderr.strip()), (0, ""))
        return p

    def agree(self, what, limits=(LIMIT_BYTES, LIMIT_MESSAGES), header=HEADER):
        """Files, maildirsize and doveadm quota get show the same usage and limits."""
        b, c = self.box.totals()
        got = self.box.maildirsize()
        check(f"{what}: maildirsize = the files ({b} bytes, {c} messages)",
              got[:3] if got else None, (header, b, c))
        check(f"{what}: doveadm quota get = the files and the limits", self.dv.quota_get(USER),
              {"STORAGE": (kb(b), kb(limits[0]) if limits[0] else None),
               "MESSAGE": (c, limits[1] or None)})
        return b, c


def ours_to_dovecot(h):
    sizes = []
    for i, n in enumerate((700, 1500, 333)):
        text = message(f"ours {i}", n)
        code, out = h.deliver(text)
        check(f"delivery {i}: exit 0", (code, out), (0, ""))
        sizes.append(len(PREFIX) + n)
    files = h.box.files()
    check("delivered files: exact sizes, in new/", sorted((x[1], x[3]) for x in files),
          sorted(("new", s) for s in sizes))
    # ,S= is the size on disk, ,W= the size with CRLF line ends (both read by Dovecot).
    names_ok = []
    for _, _, name, size in files:
        with open(os.path.join(h.box.path, "new", name), "rb") as f:
            data = f.read()
        crlf_size = size + data.count(b"\n")
        names_ok.append(f",S={size},W={crlf_size}" in name)
    check("delivered names carry ,S=<size>,W=<CRLF size>", names_ok, [True] * 3)
    check("maildirsize: our first delivery's recalculation (empty), then one line each",
          h.box.maildirsize_text(), f"{HEADER}\n0 0\n" + "".join(f"{s} 1\n" for s in sizes))
    b, c = h.agree("after 3 deliveries")
    p = h.doveadm_ok("doveadm fetch sizes", "-f", "tab", "fetch", "-u", USER,
                     "size.physical size.virtual", "mailbox", "INBOX", "all")
    got = sorted(tuple(int(v) for v in ln.split("\t")) for ln in p.stdout.splitlines()[1:])
    want = []
    for _, sub, name, size in files:
        with open(os.path.join(h.box.path, sub, name), "rb") as f:
            want.append((size, size + f.read().count(b"\n")))
    check("Dovecot's physical and virtual sizes = ours", got, sorted(want))
    h.doveadm_ok("doveadm quota recalc", "quota", "recalc", "-u", USER)
    check("Dovecot's recalculation: same bytes and count, our limits kept",
          h.box.maildirsize_text(), f"{HEADER}\n{b} {c}\n")
    h.agree("after doveadm quota recalc")


def dovecot_to_ours(h):
    b, _ = h.box.totals()
    room_after_filler = len(PREFIX) + 500
    code, err = h.save(message("filler", LIMIT_BYTES - b - room_after_filler))
    check("doveadm save of the filler", (code, err), (0, ""))
    b, c = h.agree("after Dovecot's filler")
    room = LIMIT_BYTES - b
    check("room left", room, room_after_filler)
    before = (h.box.files(), h.box.maildirsize_text())
    code, out = h.deliver(message("one byte too big", room - len(PREFIX) + 1))
    check("one byte over: refused, exit 73, 5.2.2", (code, out[:5]), (73, "5.2.2"))
    check("one byte over: nothing written", (h.box.files(), h.box.maildirsize_text()), before)
    code, out = h.deliver(message("exactly the room", room - len(PREFIX)))
    check("exactly the room left: delivered", (code, out), (0, ""))
    b, c = h.agree("full")
    check("full: the byte total is the limit", b, LIMIT_BYTES)
    code, err = h.save(message("dovecot too", 80))
    check("full: Dovecot refuses too (doveadm save exit 73, quota exceeded)",
          (code, "Quota exceeded" in err), (73, True))
    code, out = h.deliver(message("tiny", 80))
    check("full: a tiny delivery is refused (73)", (code, out[:5]), (73, "5.2.2"))

    h.doveadm_ok("doveadm flags add \\Seen", "flags", "add", "-u", USER, "\\Seen", "mailbox",
                 "INBOX", "all")
    inbox = [x for x in h.box.files() if x[0] == ""]
    check("Dovecot renamed every message with :2,S", [x[2].endswith(":2,S") for x in inbox],
          [True] * len(inbox))
    h.agree("after \\Seen")
    h.doveadm_ok("doveadm expunge the filler", "expunge", "-u", USER, "mailbox", "INBOX",
                 "subject", "filler")
    check("maildirsize ends with Dovecot's negative line for the filler",
          h.box.maildirsize_text().splitlines()[-1].startswith("-"), True)
    h.agree("after Dovecot's expunge")
    code, out = h.deliver(message("fits again", 1000))
    check("after the expunge our delivery fits again", (code, out), (0, ""))
    h.agree("after the delivery that fits again")


def recalculation(h):
    h.doveadm_ok("doveadm mailbox create Archive Trash", "mailbox", "create", "-u", USER,
                 "Archive", "Trash")
    for folder, n in (("Archive", 300), ("Trash", 250)):
        code, err = h.save(message(f"saved to {folder}", n), folder)
        check(f"doveadm save -m {folder}", (code, err), (0, ""))
    h.doveadm_ok("doveadm move one of ours to Trash", "move", "-u", USER, "Trash", "mailbox",
                 "INBOX", "subject", "ours 1")
    check("Trash holds two messages, Archive one",
          sorted(x[0] for x in h.box.files() if x[0]), [".Archive", ".Trash", ".Trash"])
    h.agree("with Archive and Trash")

    b, c = h.box.totals()
    h.box.remove_maildirsize()
    code, out = h.deliver(message("after removal", 200))
    check("maildirsize missing: delivered", (code, out), (0, ""))
    size = len(PREFIX) + 200
    check("our recalculation counts every folder, Trash too (the files' totals)",
          h.box.maildirsize_text(), f"{HEADER}\n{b} {c}\n{size} 1\n")
    b, c = h.agree("after our recalculation")
    h.doveadm_ok("doveadm quota recalc", "quota", "recalc", "-u", USER)
    check("Dovecot's recalculation gives our numbers", h.box.maildirsize_text(),
          f"{HEADER}\n{b} {c}\n")

    h.box.remove_maildirsize()
    h.doveadm_ok("doveadm quota recalc without maildirsize", "quota", "recalc", "-u", USER)
    check("Dovecot recalculating without a file writes no limits (0S)",
          h.box.maildirsize_text(), f"0S\n{b} {c}\n")
    h.agree("Dovecot's 0S file", limits=(0, 0), header="0S")
    code, out = h.deliver(message("restores the limits", 200))
    check("our delivery after 0S: delivered", (code, out), (0, ""))
    b, c = h.agree("our delivery wrote the database's limits again")

    stale = f"{HEADER}\n{LIMIT_BYTES + 1} {c}\n0 0\n"
    h.box.write_maildirsize(stale)
    check("an over-quota file of two usage lines: Dovecot does not believe it",
          h.dv.quota_get(USER), {"STORAGE": (kb(b), kb(LIMIT_BYTES)),
                                 "MESSAGE": (c, LIMIT_MESSAGES)})
    check("...and rewrites it", h.box.maildirsize_text(), f"{HEADER}\n{b} {c}\n")
    h.box.write_maildirsize(stale)
    code, out = h.deliver(message("over-quota file", 200))
    check("we recalculate it too and deliver", (code, out), (0, ""))
    check("...our file: the recalculated line, then the delivery", h.box.maildirsize_text(),
          f"{HEADER}\n{b} {c}\n{len(PREFIX) + 200} 1\n")
    h.agree("after our recalculation of the over-quota file")


def message_limit(h):
    _, c = h.box.totals()
    for i in range(c, LIMIT_MESSAGES - 1):
        code, err = h.save(message(f"count {i}", 100))
        check(f"doveadm save message {i + 1}", (code, err), (0, ""))
    h.agree(f"{LIMIT_MESSAGES - 1} messages")
    code, out = h.deliver(message("the last one", 100))
    check(f"message {LIMIT_MESSAGES}: delivered", (code, out), (0, ""))
    h.agree("at the message limit")
    code, out = h.deliver(message("one too many", 100))
    check(f"message {LIMIT_MESSAGES + 1}: refused by us (73)", (code, out[:5]), (73, "5.2.2"))
    code, err = h.save(message("one too many", 100))
    check(f"message {LIMIT_MESSAGES + 1}: refused by Dovecot (73)",
          (code, "Quota exceeded" in err), (73, True))
    h.agree("after both refused")


def main():
    deliver, admin, source = sys.argv[1:4]
    vhm_mariadb.skip_unless_available()
    why = vhm_dovecot.unavailable_reason(sql=False, quota=True)
    if why:
        print(f"SKIP: {why}")
        return vhm_mariadb.SKIP
    with tempfile.TemporaryDirectory(prefix="vhm-quota-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        # The delivery user may not reach the build tree: run installed copies (as the deliver
        # test does), the front end and the direct delivery it execs from its own directory.
        for name in ("vhostmail-deliver", "vhostmail-deliver-direct"):
            shutil.copy2(os.path.join(os.path.dirname(deliver), name), os.path.join(tmp, name))
            os.chmod(os.path.join(tmp, name), 0o755)
        mailbase = vhm_daemon.mail_base(tmp)
        r = vhm_daemon.migrate(admin, db, source)
        check("vhostmail db migrate", (r.returncode, r.stderr.strip()), (0, ""))
        db.sql(SETUP_SQL)
        config = os.path.join(tmp, "deliver.cf")
        with open(config, "w") as f:
            f.write(vhm_daemon.base_config(db, tmp) +
                    vhm_daemon.delivery_config(mailbase, "/bin/false",
                                               os.path.join(tmp, "lmtp.sock")) +
                    # Refusals compared with Dovecot's own (5.2.2, exit 73): the permanent
                    # answer, not the default temporary one.
                    "deliver_over_quota_reply = permanent\n")
        os.chmod(config, 0o644)
        with vhm_dovecot.private_dovecot(tmp, mail_location=f"maildir:{mailbase}/%d/%n",
                                         quota=True) as dv:
            h = harness(os.path.join(tmp, "vhostmail-deliver"), config, mailbox(mailbase), dv)
            ours_to_dovecot(h)
            dovecot_to_ours(h)
            recalculation(h)
            message_limit(h)
            errors = [ln for ln in dv.log().splitlines() if "Error" in ln or "Panic" in ln]
            check("Dovecot logged no errors", errors, [])
            if failures:
                print("dovecot log:\n" + dv.log()[-4000:])
                print("maildirsize:\n" + (h.box.maildirsize_text() or "(missing)"))
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
