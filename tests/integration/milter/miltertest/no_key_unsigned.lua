-- SPDX-License-Identifier: Apache-2.0
-- no_key_unsigned.lua - miltertest(8) script for vhostmail-milter: logged in as ann@lala.com,
-- From: ann@lala.com; lala.com has no DKIM key. The From check passes and there is nothing to
-- sign: the milter must accept at end of header (SMFIR_ACCEPT), so no header can be added.
-- The driver checks the milter's log for "no active DKIM key for lala.com".
--
-- usage: miltertest -D socket=unix:/path/to/milter -D common=/path/to/common.lua \
--            -s no_key_unsigned.lua

local t = dofile(common)

local conn = t.connect()
t.logged_in_header(conn, "MTNOKEY", "ann@lala.com",
                   {{"From", "Ann <ann@lala.com>"},
                    {"To", "<friend@example.net>"},
                    {"Subject", "no key through miltertest"},
                    {"Date", "Mon, 07 Dec 2026 10:00:00 +0000"}})
t.expect_reply(conn, "end of header", SMFIR_ACCEPT, "SMFIR_ACCEPT")
mt.disconnect(conn)
mt.echo("domain without a key: accepted at end of header, unsigned")
