-- SPDX-License-Identifier: Apache-2.0
-- foreign_from_rejected.lua - miltertest(8) script for vhostmail-milter: logged in as
-- xandros@blobber.org, From: vivita@blobber.org (another user of the same domain). The milter
-- must refuse at end of header with a reply code (SMFIR_REPLYCODE; it is
-- "550 5.7.1 From address <vivita@blobber.org> is not owned by user xandros@blobber.org").
--
-- usage: miltertest -D socket=unix:/path/to/milter -D common=/path/to/common.lua \
--            -s foreign_from_rejected.lua

local t = dofile(common)

local conn = t.connect()
t.logged_in_header(conn, "MTFOREIGN", "xandros@blobber.org",
                   {{"From", "<vivita@blobber.org>"},
                    {"To", "<friend@example.net>"},
                    {"Subject", "foreign From through miltertest"},
                    {"Date", "Mon, 07 Dec 2026 10:00:00 +0000"},
                    {"Message-ID", "<foreign.miltertest@client.vhostmail.test>"}})
t.expect_reply(conn, "end of header", SMFIR_REPLYCODE,
               "SMFIR_REPLYCODE, i.e. a 5xx/4xx with text")
mt.disconnect(conn)
mt.echo("foreign From: refused at end of header with a reply code")
