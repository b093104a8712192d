-- SPDX-License-Identifier: Apache-2.0
-- no_key_unsigned.lua - miltertest(8) script for vhostmail-milter: logged in as ann@lala.com,
-- From: ann@lala.com; lala.com has no DKIM key. The From check passes and there is nothing to
-- sign: the milter must accept at end of header (SMFIR_ACCEPT), so no header can be added.
-- The driver checks the milter's log for "no active DKIM key for lala.com".
--
-- usage: miltertest -D socket=unix:/path/to/milter -s no_key_unsigned.lua

-- miltertest 1.6.0 (with Lua 5.3) exits 1 on error() but does not print the message:
-- fail() writes it to stderr first.
local function fail(message)
    io.stderr:write(string.format("%s: FAIL: %s\n", "no_key_unsigned.lua", message))
    error(message, 0)
end

if socket == nil then
    fail("usage: miltertest -D socket=unix:/path -s no_key_unsigned.lua")
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
ok("macro", mt.macro(conn, SMFIC_MAIL, "i", "MTNOKEY", "{auth_type}", "PLAIN",
                     "{auth_authen}", "ann@lala.com"))
ok("mailfrom", mt.mailfrom(conn, "<ann@lala.com>"))
expect_reply(conn, "MAIL", SMFIR_CONTINUE, "SMFIR_CONTINUE")
for _, h in ipairs({{"From", "Ann <ann@lala.com>"},
                    {"To", "<friend@example.net>"},
                    {"Subject", "no key through miltertest"},
                    {"Date", "Mon, 07 Dec 2026 10:00:00 +0000"}}) do
    ok("header " .. h[1], mt.header(conn, h[1], h[2]))
end
ok("eoh", mt.eoh(conn))
expect_reply(conn, "end of header", SMFIR_ACCEPT, "SMFIR_ACCEPT")
mt.disconnect(conn)
mt.echo("domain without a key: accepted at end of header, unsigned")
