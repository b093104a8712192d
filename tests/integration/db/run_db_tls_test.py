#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""TLS to the database (db_tls_*) against a private MariaDB that requires it, with the admin
tool as the client (every daemon opens its connections through the same lib/db code).

usage: run_db_tls_test.py ADMIN_BINARY SOURCE_DIR

A server whose test user REQUIRE SSL: without db_tls the login is refused; with db_tls = yes
and the CA that signed the server's certificate it works; with another CA the certificate is
refused (never a silent clear-text fallback); db_tls_verify_cert = no accepts any certificate.
"""

import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import vhm_daemon  # noqa: E402
import vhm_mariadb  # noqa: E402
from vhm_check import check, verdict  # noqa: E402


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
            f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.pem", cwd=d)
    return os.path.join(d, f"{name}.pem")


def make_server_cert(d, ca):
    with open(os.path.join(d, "san.cnf"), "w") as f:
        f.write("subjectAltName = IP:127.0.0.1, DNS:localhost\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout",
            "server.key", "-out", "server.csr", cwd=d)
    openssl("x509", "-req", "-in", "server.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
            "-CAcreateserial", "-days", "2", "-extfile", "san.cnf", "-out", "server.pem", cwd=d)
    for name in ("server.key", "server.pem", f"{ca}.pem"):
        os.chmod(os.path.join(d, name), 0o644)


def main():
    admin, source = sys.argv[1:3]
    vhm_mariadb.skip_unless_available()
    with tempfile.TemporaryDirectory(prefix="vhm-dbtls-") as d:
        os.chmod(d, 0o755)
        ca = make_ca(d, "ca")
        other_ca = make_ca(d, "other")
        make_server_cert(d, "ca")
        tls_args = [f"--ssl-ca={ca}", f"--ssl-cert={d}/server.pem", f"--ssl-key={d}/server.key"]
        with vhm_mariadb.private_mariadb(tcp=True, extra_args=tls_args) as db:
            db.sql(f"ALTER USER '{db.user}'@'127.0.0.1' REQUIRE SSL;", database=None)
            base = [f"db_hosts=127.0.0.1:{db.port}", f"db_user={db.user}",
                    f"db_password={db.password}", f"db_name={db.database}",
                    f"admin_migrations_directory={source}/sql/migrations"]

            def tool(*settings):
                return subprocess.run(
                    [admin, "-c", "/dev/null"] + [x for o in base + list(settings)
                                                  for x in ("-o", o)] + ["db", "migrate"],
                    capture_output=True, text=True, timeout=60)

            plain = tool()
            check("no db_tls: the server that requires TLS refuses the login",
                  (plain.returncode, "Access denied" in plain.stderr), (1, True))
            good = tool("db_tls=yes", f"db_tls_ca_file={ca}")
            check("db_tls with the right CA: connected", (good.returncode, good.stderr), (0, ""))
            implied = tool(f"db_tls_ca_file={ca}")
            check("db_tls_ca_file alone turns TLS on", implied.returncode, 0)
            wrong = tool("db_tls=yes", f"db_tls_ca_file={other_ca}")
            check("another CA: the certificate is refused, no clear-text fallback",
                  (wrong.returncode, "certificate" in wrong.stderr.lower() or
                   "tls" in wrong.stderr.lower() or "ssl" in wrong.stderr.lower()), (1, True))
            unverified = tool("db_tls=yes", f"db_tls_ca_file={other_ca}",
                              "db_tls_verify_cert=no")
            check("db_tls_verify_cert = no: any certificate is accepted", unverified.returncode, 0)
            unchecked = tool("db_tls=yes")
            check("db_tls without a CA to verify with: a configuration error, named",
                  (unchecked.returncode, "db_tls_ca_file" in unchecked.stderr), (1, True))
            if wrong.returncode == 0 or plain.returncode == 0:
                print("stderr without TLS:", plain.stderr, "with another CA:", wrong.stderr)
    return verdict()


if __name__ == "__main__":
    sys.exit(main())
