#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Reliability: message accounting under faults, through a private Postfix and our daemons.

usage: run_accounting_test.py LOOKUPD AUTHD LMTPD POLICYD MILTER ADMIN SOURCE_DIR

Three senders run at a steady rate for the whole run, each message with a Message-ID of its
own: one over port 25 to hosted mailboxes, an alias of two of them, an address of a domain
alias and two catch-alls (one through another domain's); two over the submission port with SMTP
AUTH (authd), where policyd checks the sender and the rate limits and the milter signs with
DKIM, to hosted addresses: one login without a limit, one limited to LIMIT messages an hour
(policyd_rate_limit_action = reject, policyd_rate_limit_fault_action = defer: fail closed).
Like a real client they retry what is refused temporarily, and they record every answer.
Meanwhile the script injects, one after another:
  MariaDB killed (-9) and restarted; MariaDB stopped (SIGSTOP) for STOP_SECONDS, then
  continued; lmtpd, lookupd, authd, policyd and the milter each killed (-9) and restarted;
  lmtpd restarted under a small RLIMIT_FSIZE (every message is too big to write: EFBIG), then
  normally again; the Maildir filesystem full (a small tmpfs as the mail base, filled with a
  file) and freed (skipped, said so, when tmpfs cannot be mounted here).
Then the senders stop, their last retries go out, and the queue drains (postqueue -f). The
account, message by message:
  - every message accepted (250 after DATA) is in exactly the Maildirs it belongs in;
  - none bounced, none lost;
  - a duplicate is allowed only for a message whose delivery to lmtpd was cut by lmtpd's kill
    (at-least-once: lmtpd had written it, Postfix never heard so); counted and reported;
  - during the faults the answers were only right or temporary: no 5xx for a hosted address,
    no 535 for the right password;
  - every message accepted on the submission port carries a DKIM signature that python3-dkim
    verifies (milter_default_action = tempfail: none goes out unsigned while the milter is down);
  - the limited login had no more than LIMIT messages accepted, plus what policyd may forget by
    its kill (charges of the last policyd_rate_flush_interval; docs/cluster.md rule 4), and its
    refusals came only once the limit was spent.
CI runs it as is (STOP_SECONDS 5); VHM_ACCOUNTING_STOP_SECONDS=30 VHM_ACCOUNTING_RATE=20 is the
full version (tests/reliability/README.md).
"""

import base64
import collections
import email.parser
import glob
import json
import os
import pwd
import re
import resource
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration"))
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
import vhm_postfix  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "integration",
                                "milter"))
import dkim_verify  # noqa: E402
import milter_keys  # noqa: E402
from vhm_check import check, failures, verdict  # noqa: E402

STOP_SECONDS = float(os.environ.get("VHM_ACCOUNTING_STOP_SECONDS", "5"))
RATE = float(os.environ.get("VHM_ACCOUNTING_RATE", "8"))  # messages/s per sender
PASSWORD = "secret"  # sql/fixtures/spec-example.sql
BODY = "body line\r\n" * 20

# recipient -> the mailboxes (Maildir directories under the mail base) it must reach
MX_RECIPIENTS = {
    "xandros@blobber.org": ["blobber.org/xandros"],
    "vivita@blobber.org": ["blobber.org/vivita"],
    "list@blobber.org": ["blobber.org/vivita", "blobber.org/xandros"],  # the alias the test adds
    "vivita@mail.blobber.org": ["blobber.org/vivita"],  # @mail.blobber.org -> @blobber.org
    "anyone@whopper.nu": ["blobber.org/xandros"],       # the catch-all -> xandros@blobber.org
    "someone@lala.com": ["blobber.org/xandros"],        # -> @whopper.nu, then its catch-all
}
SUBMISSION_RECIPIENTS = {"vivita@blobber.org": ["blobber.org/vivita"],
                         "xandros@blobber.org": ["blobber.org/xandros"]}
# The limited login: its budget is reached in the middle of the faults.
LIMIT = 20
LIMITED_RATE = 1.0
LIMITED_LOGIN = "vivita@blobber.org"
LIMIT_SQL = f"""
INSERT INTO send_limits (domain_id, address_id, budget, window_seconds, max_value)
  SELECT d.id, a.id, 'messages', 3600, {LIMIT} FROM addresses a
  JOIN domains d ON d.id = a.domain_id WHERE d.name = 'blobber.org' AND a.local_part = 'vivita';
"""
LIMIT_TEXT = "Sending limit reached"
FLUSH_MS = 250


class sender(threading.Thread):
    """Sends one message every 1/RATE s until stopped, retrying temporary refusals."""

    def __init__(self, name, port, recipients, login=None, rate=None):
        super().__init__(daemon=True)
        self.name_ = name
        self.port = port
        self.recipients = list(recipients)
        self.login = login
        self.rate = rate or RATE
        self.limited = []         # message-ids refused for the sending limit (final)
        self.accepted_before_limit = None  # how many were accepted when the first was refused
        self.stopping = threading.Event()
        self.accepted = {}        # message-id -> recipient
        self.accepted_at = {}     # message-id -> monotonic time of the 250
        self.retry = collections.deque()
        self.temporary = collections.Counter()  # what temporary refusals were seen
        self.wrong = []           # permanent refusals and 535s: never right here
        self.n = 0

    def message(self, mid, rcpt):
        sender = self.login[0] if self.login else "sender@remote.example"
        return (f"From: <{sender}>\r\nTo: <{rcpt}>\r\nSubject: accounting\r\n"
                f"Message-ID: <{mid}>\r\n\r\n{BODY}")

    def attempt(self, mid, rcpt):
        """True when the message was accepted or refused for good, False to retry."""
        try:
            with smtplib.SMTP("127.0.0.1", self.port, timeout=60) as s:
                s.ehlo("client.remote.example")
                if self.login:
                    code, text = s.docmd("AUTH", "PLAIN " + base64.b64encode(
                        f"\0{self.login[0]}\0{self.login[1]}".encode()).decode())
                    if code != 235:
                        return self.refused("AUTH", code, text)
                code, text = s.mail("sender@remote.example" if not self.login else self.login[0])
                if code != 250:
                    return self.refused("MAIL", code, text)
                code, text = s.rcpt(rcpt)
                if code != 250:
                    return self.refused(f"RCPT {rcpt}", code, text, mid)
                code, text = s.data(self.message(mid, rcpt))
                if code != 250:
                    return self.refused("DATA", code, text, mid)
                self.accepted[mid] = rcpt
                self.accepted_at[mid] = time.monotonic()
                return True
        except smtplib.SMTPDataError as e:
            return self.refused("DATA", e.smtp_code, e.smtp_error, mid)
        except (OSError, smtplib.SMTPException) as e:
            self.temporary[f"connection: {type(e).__name__}"] += 1
            return False

    def refused(self, stage, code, text, mid=None):
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        if code >= 500 and LIMIT_TEXT in text and mid is not None:
            if self.accepted_before_limit is None:
                self.accepted_before_limit = len(self.accepted)
            self.limited.append(mid)
            return True
        if 400 <= code < 500:
            self.temporary[f"{stage.split()[0]} {code}"] += 1
            return False
        self.wrong.append(f"{stage}: {code} {text}")
        return True

    def run(self):
        next_at = time.monotonic()
        while not self.stopping.is_set():
            if self.retry and self.retry[0][2] <= time.monotonic():
                mid, rcpt, _ = self.retry.popleft()
            else:
                self.n += 1
                mid = f"{self.name_}.{self.n}.{os.getpid()}@accounting.test"
                rcpt = self.recipients[self.n % len(self.recipients)]
                next_at += 1 / self.rate
                time.sleep(max(0.0, next_at - time.monotonic()))
            if not self.attempt(mid, rcpt):
                self.retry.append((mid, rcpt, time.monotonic() + 1))

    def finish(self, timeout):
        """Stops sending new messages; retries what is left until timeout."""
        self.stopping.set()
        self.join()
        deadline = time.monotonic() + timeout
        while self.retry and time.monotonic() < deadline:
            mid, rcpt, _ = self.retry.popleft()
            if not self.attempt(mid, rcpt):
                self.retry.append((mid, rcpt, 0))
                time.sleep(0.5)
        return list(self.retry)


def maildir_index(mailbase):
    """message-id -> [mailbox, ...] (one entry per copy) over every Maildir."""
    found = collections.defaultdict(list)
    parser = email.parser.BytesHeaderParser()
    for path in glob.glob(os.path.join(mailbase, "*", "*", "new", "*")) + \
            glob.glob(os.path.join(mailbase, "*", "*", "cur", "*")):
        with open(path, "rb") as f:
            mid = (parser.parse(f).get("Message-ID") or "").strip("<> ")
        box = os.path.relpath(os.path.dirname(os.path.dirname(path)), mailbase)
        found[mid].append(box)
    return found


def queue_empty(pf):
    r = subprocess.run(["postqueue", "-c", pf.conf, "-p"], capture_output=True, text=True)
    return "Mail queue is empty" in r.stdout


class fault_log:
    def __init__(self):
        self.t0 = time.monotonic()
        self.events = []
        self.killed_at = collections.defaultdict(list)  # daemon -> monotonic times of kill -9

    def __call__(self, what):
        self.events.append((time.monotonic() - self.t0, what))
        print(f"[{time.monotonic() - self.t0:6.1f}s] {what}", flush=True)


def restart(d, note, what, preexec=None):
    note(f"kill -9 {d.name}" if preexec is None else what)
    note.killed_at[d.name].append(time.monotonic())
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait()
    d.preexec = preexec
    # A fresh log: under a file size limit, writes past it fail (the log file is the daemon's
    # stderr here; a daemon logs to syslog in production).
    d.logs.append(d.log_file)
    d.log_file = f"{d.log_file.rsplit('.log', 1)[0]}.{len(d.logs)}.log"
    d.start(timeout=60)
    d.preexec = None
    note(f"{d.name} running again")


def mount_small_tmpfs(path):
    """A tmpfs at path with room for the run's mail and not much more: each message takes at
    least a 4 KiB page there, two senders run for about two minutes, some messages go to two
    mailboxes; the filler file takes the rest when the fault asks for it."""
    size_mb = int(RATE * 2 * 150 * 8 / 1024) + 8
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs",
                        path], capture_output=True, text=True)
    return r.returncode == 0


def faults(db, daemons, mailbase, tmpfs, note):
    lookupd, authd, lmtpd, policyd, milter = daemons
    time.sleep(3)
    note("MariaDB kill -9")
    db.kill()
    time.sleep(3)
    db.start()
    note("MariaDB restarted")
    time.sleep(4)
    note(f"MariaDB SIGSTOP for {STOP_SECONDS:.0f} s")
    db.pause()
    time.sleep(STOP_SECONDS)
    db.resume()
    note("MariaDB SIGCONT")
    time.sleep(4)
    for d in (lmtpd, lookupd, authd, policyd, milter):
        restart(d, note, None)
        time.sleep(3)

    def small_files():
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    restart(lmtpd, note, "lmtpd restarted with RLIMIT_FSIZE = 512 bytes", small_files)
    time.sleep(4)
    restart(lmtpd, note, "lmtpd restarted without the file size limit", lambda: None)
    time.sleep(3)
    if tmpfs:
        filler = os.path.join(mailbase, "filler")
        note("Maildir filesystem full")
        subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True)
        time.sleep(4)
        os.unlink(filler)
        note("Maildir filesystem space freed")
        time.sleep(3)
    else:
        note("Maildir filesystem full: skipped (tmpfs cannot be mounted here)")


def account(senders, leftover, index, pf_log, note):
    queue_of = {}
    for qid, mid in re.findall(r"\]: ([0-9A-F]+): message-id=<([^>]+)>", pf_log):
        queue_of[mid] = qid
    cut = set(re.findall(r"\]: ([0-9A-F]+): to=<[^>]+>.*relay=[^ ]*lmtp[^ ]*.*status=deferred "
                         r"\((?:lost connection|conversation with|connect to)", pf_log))
    bounced_q = set(re.findall(r"\]: ([0-9A-F]+): to=<[^>]+>.*status=bounced", pf_log))
    rows = []
    for s, table in senders:
        sent = len(s.accepted)
        delivered = duplicated = explained = lost = bounced = misplaced = 0
        for mid, rcpt in s.accepted.items():
            boxes = index.get(mid, [])
            want = table[rcpt]
            qid = queue_of.get(mid)
            if qid in bounced_q:
                bounced += 1
                failures.append(f"{s.name_}: {mid} to {rcpt} bounced")
            if not boxes:
                lost += 1
                failures.append(f"{s.name_}: {mid} to {rcpt} lost")
                continue
            if sorted(set(boxes)) != sorted(want):
                misplaced += 1
                failures.append(f"{s.name_}: {mid} to {rcpt} in {boxes}, want {want}")
                continue
            delivered += 1
            if len(boxes) > len(want):
                duplicated += 1
                if qid in cut:
                    explained += 1
                else:
                    failures.append(f"{s.name_}: {mid} delivered {len(boxes)} times, and its"
                                    " delivery was never cut")
        rows.append((s.name_, sent, delivered, duplicated, explained, bounced, lost, misplaced,
                     len(leftover[s.name_])))
    print("\nsender      accepted delivered duplicated (at an lmtpd kill) bounced lost"
          " misplaced unsent")
    for r in rows:
        print(f"{r[0]:11} {r[1]:8d} {r[2]:9d} {r[3]:10d} {r[4]:17d} {r[5]:7d} {r[6]:4d}"
              f" {r[7]:9d} {r[8]:6d}")
    for s, _ in senders:
        print(f"{s.name_}: temporary refusals seen: {dict(s.temporary)}")
    deferred = collections.Counter(
        re.sub(r"<[^>]*>|\[[^]]*\]|[0-9A-F]{9,}|[0-9]+", "#", reason)[:120]
        for reason in re.findall(r"status=deferred \((.*)\)$", pf_log, re.M))
    print("deliveries Postfix deferred, and why:")
    for reason, n in deferred.most_common():
        print(f"  {n:5d}  {reason}")
    return rows, deferred


def unsigned_copies(mailbase, mids, records):
    """The copies of the messages `mids` in the Maildirs that python3-dkim does not verify:
    [(message-id, why)], and how many were checked."""
    parser = email.parser.BytesHeaderParser()
    bad, checked = [], 0
    for path in glob.glob(os.path.join(mailbase, "*", "*", "new", "*")):
        with open(path, "rb") as f:
            data = f.read()
        mid = (parser.parsebytes(data).get("Message-ID") or "").strip("<> ")
        if mid not in mids:
            continue
        checked += 1
        ok, why = dkim_verify.verify_python(data, records)
        if not ok:
            bad.append((mid, why))
    return bad, checked


def limit_cases(limited, note):
    """The limited login: accepted no more than LIMIT plus what a policyd kill may forget, and
    refused only once its budget was spent."""
    accepted = sorted(limited.accepted_at.values())
    forgettable = sum(1 for k in note.killed_at["policyd"] for t in accepted
                      if k - 1.0 <= t <= k)  # charged within the last flush (+ its commit)
    bound = LIMIT + forgettable
    print(f"limited login: limit {LIMIT}, accepted {len(accepted)}, refused for the limit"
          f" {len(limited.limited)}, accepted within 1 s before policyd's kill {forgettable}"
          f" (bound {bound})")
    check(f"limited login: accepted at most the limit (+{forgettable} charged just before"
          " policyd's kill)", len(accepted) <= bound, True)
    check("limited login: its limit was reached during the run", len(limited.limited) > 0, True)
    # A charge whose message was then refused temporarily (its 250 never came) counts once
    # more when it is retried, so the limit may be reached that much early, no earlier.
    data_retries = sum(n for what, n in limited.temporary.items() if what.startswith("DATA"))
    check("limited login: refused only once its budget was spent (allowing for charged retries)",
          (limited.accepted_before_limit or 0) + data_retries >= LIMIT, True)


def main():
    lookupd, authd, lmtpd, policyd, milter, admin, source = sys.argv[1:8]
    vhm_mariadb.skip_unless_available()
    vhm_postfix.skip_unless_available()
    note = fault_log()
    with tempfile.TemporaryDirectory(prefix="vhm-accounting-") as tmp, \
            vhm_mariadb.private_mariadb() as db:
        os.chmod(tmp, 0o755)
        base = vhm_daemon.base_config(db, tmp)
        vhm_daemon.spec_database(admin, db, source)
        db.sql(LIMIT_SQL)
        for args in (("address", "add", "list@blobber.org"),
                     ("address", "forward", "add", "list@blobber.org", "xandros@blobber.org",
                      "vivita@blobber.org")):
            r = vhm_daemon.admin_tool(admin, db, *args)
            check(" ".join(args), (r.returncode, r.stderr.strip()), (0, ""))
        mailbase = os.path.join(tmp, "mail")
        os.mkdir(mailbase)
        tmpfs = mount_small_tmpfs(mailbase)
        try:
            nobody = pwd.getpwnam("nobody")
            os.chown(mailbase, nobody.pw_uid, nobody.pw_gid)
            os.chmod(mailbase, 0o700)
            tables = vhm_postfix.lookupd_tables(tmp)
            lmtp_sock = f"{tmp}/lmtp.sock"
            lmtpd_cf = (base + vhm_daemon.delivery_config(mailbase, "/bin/true", lmtp_sock) +
                        "lmtpd_socket_group =\nlmtpd_socket_mode = 0666\n")
            authd_cf = (base + f"authd_dovecot_listen = unix:{tmp}/auth\n"
                        "authd_socket_group =\nauthd_socket_mode = 0666\n"
                        "authd_allow_cleartext = yes\nauthd_hash_rounds = 5000\n")
            for args in (("dkim", "keygen", "blobber.org", "--selector", "r1"),
                         ("dkim", "activate", "blobber.org", "r1")):
                r = milter_keys.admin(admin, db, tmp, *args)
                check(" ".join(args), (r.returncode, r.stderr.strip()), (0, ""))
            r = milter_keys.admin(admin, db, tmp, "--json", "dkim", "show", "blobber.org")
            records = {rec["name"]: rec["record"] for rec in json.loads(r.stdout or "[]")}
            policyd_cf = (base + f"policyd_submission_listen = unix:{tmp}/policyd-sub\n"
                          f"policyd_mx_listen = unix:{tmp}/policyd-mx\n"
                          "policyd_socket_group =\npolicyd_socket_mode = 0666\n"
                          "policyd_submission_checks = sender_login recipient rate_limit\n"
                          "policyd_rate_limit_action = reject\n"
                          "policyd_rate_limit_fault_action = defer\n"
                          f"policyd_rate_flush_interval = {FLUSH_MS}ms\n"
                          "policyd_shard_id = accounting\n")
            milter_cf = base + (f"milter_listen = unix:{tmp}/milter\n"
                                "milter_socket_group =\nmilter_socket_mode = 0666\n")
            sub_port = vhm_postfix.free_port()
            with open(os.path.join(source, "postfix-snippets", "main.cf.milter")) as f:
                milter_main = "".join(line for line in f if not line.startswith("non_smtpd"))
            main_cf = (tables.snippet(source, "main.cf.lookup") + milter_main +
                       f"virtual_transport = lmtp:unix:{lmtp_sock}\n"
                       # Retry soon: the run is minutes, not hours.
                       "queue_run_delay = 2s\nminimal_backoff_time = 2s\n"
                       "maximal_backoff_time = 4s\nlmtp_data_done_timeout = 30s\n")
            master_cf = (f"127.0.0.1:{sub_port} inet n - n - - smtpd\n"
                         "  -o smtpd_sasl_auth_enable=yes\n"
                         "  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject\n"
                         f"  -o smtpd_sasl_type=dovecot\n  -o smtpd_sasl_path={tmp}/auth\n"
                         "  -o { smtpd_recipient_restrictions = check_policy_service"
                         f" unix:{tmp}/policyd-sub, permit_sasl_authenticated, reject }}\n"
                         "  -o { smtpd_end_of_data_restrictions = check_policy_service"
                         f" unix:{tmp}/policyd-sub }}\n"
                         f"  -o smtpd_milters=unix:{tmp}/milter\n")
            with vhm_daemon.daemon(lookupd, base + tables.config(), tmp, name="lookupd") as lk, \
                    vhm_daemon.daemon(authd, authd_cf, tmp, name="authd") as au, \
                    vhm_daemon.daemon(lmtpd, lmtpd_cf, tmp, name="lmtpd") as lm, \
                    vhm_daemon.daemon(policyd, policyd_cf, tmp, name="policyd") as po, \
                    vhm_daemon.daemon(milter, milter_cf, tmp, name="milter") as mi, \
                    vhm_postfix.private_postfix(tmp, main_cf_extra=main_cf,
                                                master_cf_extra=master_cf) as pf:
                daemons = (lk, au, lm, po, mi)
                for d in (lk, po, mi):
                    d.wait_for_log("routing data loaded")
                for d in daemons:
                    d.logs = []
                mx = sender("mx", pf.smtp_port, MX_RECIPIENTS)
                sub = sender("submission", sub_port, SUBMISSION_RECIPIENTS,
                             login=("xandros@blobber.org", PASSWORD))
                limited = sender("limited", sub_port, SUBMISSION_RECIPIENTS,
                                 login=(LIMITED_LOGIN, PASSWORD), rate=LIMITED_RATE)
                senders = (mx, sub, limited)
                for s in senders:
                    s.start()
                faults(db, (lk, au, lm, po, mi), mailbase, tmpfs, note)
                time.sleep(3)
                note("senders stop; their last retries")
                leftover = {s.name_: s.finish(60) for s in senders}
                subprocess.run(["postqueue", "-c", pf.conf, "-f"], capture_output=True)
                drained = vhm_daemon.wait_for(lambda: queue_empty(pf), timeout=180, interval=1)
                note(f"queue drained: {drained}")
                check("the queue drains after the faults", drained, True)
                time.sleep(1)
                rows, deferred = account([(mx, MX_RECIPIENTS), (sub, SUBMISSION_RECIPIENTS),
                                          (limited, SUBMISSION_RECIPIENTS)],
                                         leftover, maildir_index(mailbase), pf.log(), note)
                submitted = set(sub.accepted) | set(limited.accepted)
                bad, checked = unsigned_copies(mailbase, submitted, records)
                print(f"DKIM: {checked} delivered copies of submitted messages checked,"
                      f" {len(bad)} not verified")
                check("every submitted message delivered was signed (python3-dkim verifies it)",
                      (bad[:3], checked >= len(submitted)), ([], True))
                limit_cases(limited, note)
                felt = " ".join(deferred)
                check("the faults were felt at delivery: file too large",
                      "file too" in felt.lower(), True)
                if tmpfs:
                    check("the faults were felt at delivery: disk full",
                          "no space" in felt.lower(), True)
                for s in senders:
                    check(f"{s.name_}: no wrong answer during the faults (5xx, 535)", s.wrong, [])
                    check(f"{s.name_}: every message went out", leftover[s.name_], [])
                    check(f"{s.name_}: messages accepted during the run",
                          len(s.accepted) > (LIMIT // 2 if s is limited else 20),
                          True)
                for r in rows:
                    check(f"{r[0]}: none bounced, lost or misplaced", r[5:8], (0, 0, 0))
                for d in daemons:
                    logs = "".join(open(f, errors="replace").read() for f in d.logs) + d.log()
                    check(f"{d.name}: no sanitizer report",
                          "ERROR: AddressSanitizer" in logs or "runtime error" in logs, False)
                if failures:
                    print("postfix log tail:\n" + pf.log()[-4000:])
        finally:
            if tmpfs:
                subprocess.run(["umount", "-l", mailbase], capture_output=True)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
