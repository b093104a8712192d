-- SPDX-License-Identifier: Apache-2.0
-- foreign_from_rejected.lua - miltertest(8) script for vhostmail-milter: logged in as
-- xandros@blobber.org, From: vivita@blobber.org (another user of the same domain). The milter
-- must refuse at end of header with a reply code (SMFIR_REPLYCODE; it is
-- "550 5.7.1 From address <vivita@blobber.org> is not owned by user xandros@blobber.org").
--
-- usage: miltertest -D socket=unix:/path/to/milter -s foreign_from_rejected.lua
--
-- miltertest limit: mt.eoh() reads the reply but keeps only its command byte, and
-- mt.eom_check(MT_SMTPREPLY) only sees replies given at end of message; so this script can
-- tell SMFIR_REPLYCODE from the other replies, not 550 from 451. The test driver checks the
-- code and text with its own milter client and in the milter's log (queue id MTFOREIGN).

-- miltertest 1.6.0 (with Lua 5.3) exits 1 on error() but does not print the message:
-- fail() writes it to stderr first.
local function fail(message)
    io.stderr:write(string.format("%s: FAIL: %s\n", "foreign_from_rejected.lua", message))
    error(message, 0)
end

if socket == nil then
    fail("usage: miltertest -D socket=unix:/path -s foreign_from_rejected.lua")
end

local function ok(what, err)
    if err ~= nil then fail(what .. ": " .. tostring(err)) end
end

local function expect_reply(conn, what, want, want_name)
    local got = mt.getreply(conn)
    if got ~= want then
        fail(string.format("%s: reply '%s', want '%s' (%s)", what,
                           got == 0 and "none" or string.char(got), string.char(want),
                           want_name))
    end
end

mt.set_timeout(30)
local conn = mt.connect(socket, 20, 0.25)
if conn == nil then fail("cannot connect to " .. socket) end
ok("negotiate", mt.negotiate(conn, nil, nil, nil))
ok("conninfo", mt.conninfo(conn, "client.example.net", "192.0.2.10"))
ok("macro", mt.macro(conn, SMFIC_MAIL, "i", "MTFOREIGN", "{auth_type}", "PLAIN",
                     "{auth_authen}", "xandros@blobber.org"))
ok("mailfrom", mt.mailfrom(conn, "<xandros@blobber.org>"))
expect_reply(conn, "MAIL", SMFIR_CONTINUE, "SMFIR_CONTINUE")
for _, h in ipairs({{"From", "<vivita@blobber.org>"},
                    {"To", "<friend@example.net>"},
                    {"Subject", "foreign From through miltertest"},
                    {"Date", "Mon, 07 Dec 2026 10:00:00 +0000"},
                    {"Message-ID", "<foreign.miltertest@client.vhostmail.test>"}}) do
    ok("header " .. h[1], mt.header(conn, h[1], h[2]))
end
ok("eoh", mt.eoh(conn))
expect_reply(conn, "end of header", SMFIR_REPLYCODE, "SMFIR_REPLYCODE, i.e. a 5xx/4xx with text")
mt.disconnect(conn)
mt.echo("foreign From: refused at end of header with a reply code")
