#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""One SMTP conversation with the container's Postfix, run inside its network namespace
(nsenter -n) by run_install_test.py; prints the outcome as one JSON object.

usage: smtp_probe.py PORT SENDER RECIPIENT[,RECIPIENT...] [--subject S] [--login USER:PASSWORD]
                     [--rcpt-only] [--host ADDRESS] [--source ADDRESS] [--from-header ADDRESS]

--host is Postfix's address (127.0.0.1), --source the client's (an address outside
mynetworks makes the client an outsider); --from-header puts another address than SENDER in
the From: header.

Port 587 uses STARTTLS (the submission service requires it; Debian's snake-oil certificate is
not verified). Result: {"rcpt": {recipient: [code, text]}, "data": [code, text] or null,
"auth": [code, text] or null, "error": text or null}.
"""
import argparse
import json
import smtplib
import ssl
import sys


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("sender")
    p.add_argument("recipients")
    p.add_argument("--subject", default="probe")
    p.add_argument("--login")
    p.add_argument("--rcpt-only", action="store_true")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--source")
    p.add_argument("--from-header")
    a = p.parse_args()
    out = {"rcpt": {}, "data": None, "auth": None, "error": None}
    try:
        source = (a.source, 0) if a.source else None
        with smtplib.SMTP(a.host, a.port, timeout=60, source_address=source) as s:
            s.ehlo("probe.example")
            if a.port != 25:
                ctx = ssl.create_default_context()
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
                s.starttls(context=ctx)
                s.ehlo("probe.example")
            if a.login:
                user, password = a.login.split(":", 1)
                try:
                    code, text = s.login(user, password)
                except smtplib.SMTPAuthenticationError as e:
                    code, text = e.smtp_code, e.smtp_error
                out["auth"] = [code, text.decode(errors="replace")
                               if isinstance(text, bytes) else text]
                if code != 235:
                    print(json.dumps(out))
                    return 0
            code, text = s.mail(a.sender)
            if code != 250:
                out["error"] = f"MAIL FROM: {code} {text.decode(errors='replace')}"
                print(json.dumps(out))
                return 0
            accepted = []
            for r in a.recipients.split(","):
                code, text = s.rcpt(r)
                out["rcpt"][r] = [code, text.decode(errors="replace")]
                if code == 250:
                    accepted.append(r)
            if accepted and not a.rcpt_only:
                msg = (f"From: <{a.from_header or a.sender}>\r\nTo: <{accepted[0]}>\r\nSubject: {a.subject}\r\n"
                       f"Message-ID: <{a.subject.replace(' ', '.')}@probe.example>\r\n\r\n"
                       "hello from the installed-system test\r\n")
                code, text = s.data(msg.encode())
                out["data"] = [code, text.decode(errors="replace")]
            else:
                s.rset()
    except (OSError, smtplib.SMTPException) as e:
        out["error"] = f"{type(e).__name__}: {e}"
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
