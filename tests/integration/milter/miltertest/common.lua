-- SPDX-License-Identifier: Apache-2.0
-- common.lua - what the miltertest(8) scripts here share: failing with a reason, checking
-- replies, the connection, and an authenticated message up to the end of its header.
-- Loaded by each script with dofile(common), common being passed with -D (see
-- run_milter_protocol_test.py); the scripts also get socket=unix:PATH with -D.
--
-- miltertest 1.6.0 (with Lua 5.3) exits 1 on error() but does not print the message: fail()
-- writes it to stderr first. It keeps only the command byte of a reply given before end of
-- message, so a script can tell SMFIR_REPLYCODE from other replies, not 550 from 451: the
-- driver checks codes and texts with its own client and in the milter's log (queue ids MT*).

local t = {}

function t.fail(message)
    io.stderr:write("FAIL: " .. message .. "\n")
    error(message, 0)
end

function t.ok(what, err)
    if err ~= nil then t.fail(what .. ": " .. tostring(err)) end
end

function t.expect_reply(conn, what, want, want_name)
    local got = mt.getreply(conn)
    if got ~= want then
        t.fail(string.format("%s: reply '%s', want '%s' (%s)", what,
                             got == 0 and "none" or string.char(got), string.char(want),
                             want_name))
    end
end

-- Connected and negotiated (miltertest offers every step and action) from an SMTP client.
function t.connect()
    if socket == nil then t.fail("usage: miltertest -D socket=unix:/path -s SCRIPT") end
    mt.set_timeout(30)  -- an ASan build answers slowly
    local conn = mt.connect(socket, 20, 0.25)
    if conn == nil then t.fail("cannot connect to " .. socket) end
    t.ok("negotiate", mt.negotiate(conn, nil, nil, nil))
    t.ok("conninfo", mt.conninfo(conn, "client.example.net", "192.0.2.10"))
    return conn
end

-- MAIL as `login` (Postfix sends milter_mail_macros before MAIL; mt.macro replaces the stage's
-- whole set), then `headers` ({name, value} pairs; miltertest adds the space after the colon)
-- and the end of the header.
function t.logged_in_header(conn, queue_id, login, headers)
    t.ok("macro", mt.macro(conn, SMFIC_MAIL, "i", queue_id, "{auth_type}", "PLAIN",
                           "{auth_authen}", login))
    t.ok("mailfrom", mt.mailfrom(conn, "<" .. login .. ">"))
    t.expect_reply(conn, "MAIL", SMFIR_CONTINUE, "SMFIR_CONTINUE")
    for _, h in ipairs(headers) do
        t.ok("header " .. h[1], mt.header(conn, h[1], h[2]))
    end
    t.ok("eoh", mt.eoh(conn))
end

return t
