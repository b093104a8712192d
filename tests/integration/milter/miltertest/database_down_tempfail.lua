-- SPDX-License-Identifier: Apache-2.0
-- database_down_tempfail.lua - miltertest(8) script for vhostmail-milter, run while its
-- database is down: logged in as xandros@blobber.org with his own From. The From check cannot
-- be made: the milter must answer at end of header with a reply code (SMFIR_REPLYCODE; it is
-- "451 4.3.0 Temporary sender check problem, try again later"), never accept.
--
-- usage: miltertest -D socket=unix:/path/to/milter -D common=/path/to/common.lua \
--            -s database_down_tempfail.lua

local t = dofile(common)

local conn = t.connect()
t.logged_in_header(conn, "MTDBDOWN", "xandros@blobber.org",
                   {{"From", "<xandros@blobber.org>"},
                    {"To", "<friend@example.net>"},
                    {"Subject", "database down through miltertest"},
                    {"Date", "Mon, 07 Dec 2026 10:00:00 +0000"}})
t.expect_reply(conn, "end of header", SMFIR_REPLYCODE, "SMFIR_REPLYCODE, i.e. a 4xx with text")
mt.disconnect(conn)
mt.echo("database down: deferred at end of header with a reply code")
