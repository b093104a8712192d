-- SPDX-License-Identifier: Apache-2.0
-- two_from_rejected.lua - miltertest(8) script for vhostmail-milter: logged in as
-- xandros@blobber.org, a message with two From fields (the first his own). The milter must
-- refuse at end of header with a reply code (SMFIR_REPLYCODE; it is
-- "550 5.7.1 Message has several From headers (RFC 6376 8.15)").
--
-- usage: miltertest -D socket=unix:/path/to/milter -D common=/path/to/common.lua \
--            -s two_from_rejected.lua

local t = dofile(common)

local conn = t.connect()
t.logged_in_header(conn, "MTTWOFROM", "xandros@blobber.org",
                   {{"From", "<xandros@blobber.org>"},
                    {"To", "<friend@example.net>"},
                    {"From", "<vivita@blobber.org>"},
                    {"Subject", "two From fields through miltertest"},
                    {"Date", "Mon, 07 Dec 2026 10:00:00 +0000"}})
t.expect_reply(conn, "end of header", SMFIR_REPLYCODE,
               "SMFIR_REPLYCODE, i.e. a 5xx/4xx with text")
mt.disconnect(conn)
mt.echo("two From fields: refused at end of header with a reply code")
