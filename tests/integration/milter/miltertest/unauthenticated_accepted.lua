-- SPDX-License-Identifier: Apache-2.0
-- unauthenticated_accepted.lua - miltertest(8) script for vhostmail-milter: mail from an SMTP
-- client (192.0.2.10, miltertest's port 12345) without {auth_authen}, whose From is not the
-- sender's. Not the milter's business: it must accept at MAIL (SMFIR_ACCEPT). An MTA sends
-- nothing more of that message to a milter that accepted it, so nothing can be added to it;
-- the script then starts a second, identical transaction on the same connection to show the
-- session stays usable and answers the same.
--
-- usage: miltertest -D socket=unix:/path/to/milter -s unauthenticated_accepted.lua

-- miltertest 1.6.0 (with Lua 5.3) exits 1 on error() but does not print the message:
-- fail() writes it to stderr first.
local function fail(message)
    io.stderr:write(string.format("%s: FAIL: %s\n", "unauthenticated_accepted.lua", message))
    error(message, 0)
end

if socket == nil then
    fail("usage: miltertest -D socket=unix:/path -s unauthenticated_accepted.lua")
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
for round = 1, 2 do
    -- no {auth_authen}: not logged in
    ok("macro", mt.macro(conn, SMFIC_MAIL, "i", "MTUNAUTH" .. round))
    ok("mailfrom", mt.mailfrom(conn, "<someone@example.net>"))
    expect_reply(conn, "MAIL (transaction " .. round .. ")", SMFIR_ACCEPT, "SMFIR_ACCEPT")
end
mt.disconnect(conn)
mt.echo("unauthenticated: accepted at MAIL, twice on one connection")
