-- SPDX-License-Identifier: Apache-2.0
-- database_down_tempfail.lua - miltertest(8) script for vhostmail-milter, run while its
-- database is down: logged in as xandros@blobber.org with his own From. The From check cannot
-- be made: the milter must answer at end of header with a reply code (SMFIR_REPLYCODE; it is
-- "451 4.3.0 Temporary sender check problem, try again later"), never accept.
--
-- usage: miltertest -D socket=unix:/path/to/milter -s database_down_tempfail.lua
--
-- As in foreign_from_rejected.lua, miltertest keeps only the command byte of a reply given
-- before end of message: the driver checks code and text (queue id MTDBDOWN).

-- miltertest 1.6.0 (with Lua 5.3) exits 1 on error() but does not print the message:
-- fail() writes it to stderr first.
local function fail(message)
    io.stderr:write(string.format("%s: FAIL: %s\n", "database_down_tempfail.lua", message))
    error(message, 0)
end

if socket == nil then
    fail("usage: miltertest -D socket=unix:/path -s database_down_tempfail.lua")
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
ok("macro", mt.macro(conn, SMFIC_MAIL, "i", "MTDBDOWN", "{auth_type}", "PLAIN",
                     "{auth_authen}", "xandros@blobber.org"))
ok("mailfrom", mt.mailfrom(conn, "<xandros@blobber.org>"))
expect_reply(conn, "MAIL", SMFIR_CONTINUE, "SMFIR_CONTINUE")
for _, h in ipairs({{"From", "<xandros@blobber.org>"},
                    {"To", "<friend@example.net>"},
                    {"Subject", "database down through miltertest"},
                    {"Date", "Mon, 07 Dec 2026 10:00:00 +0000"}}) do
    ok("header " .. h[1], mt.header(conn, h[1], h[2]))
end
ok("eoh", mt.eoh(conn))
expect_reply(conn, "end of header", SMFIR_REPLYCODE, "SMFIR_REPLYCODE, i.e. a 4xx with text")
mt.disconnect(conn)
mt.echo("database down: deferred at end of header with a reply code")
