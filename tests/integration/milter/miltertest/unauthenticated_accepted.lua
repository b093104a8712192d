-- SPDX-License-Identifier: Apache-2.0
-- unauthenticated_accepted.lua - miltertest(8) script for vhostmail-milter: mail from an SMTP
-- client (192.0.2.10, miltertest's port 12345) without {auth_authen}, whose From is not the
-- sender's. Not the milter's business: it must accept at MAIL (SMFIR_ACCEPT). An MTA sends
-- nothing more of that message to a milter that accepted it, so nothing can be added to it;
-- the script then starts a second, identical transaction on the same connection to show the
-- session stays usable and answers the same.
--
-- usage: miltertest -D socket=unix:/path/to/milter -D common=/path/to/common.lua \
--            -s unauthenticated_accepted.lua

local t = dofile(common)

local conn = t.connect()
for round = 1, 2 do
    -- no {auth_authen}: not logged in
    t.ok("macro", mt.macro(conn, SMFIC_MAIL, "i", "MTUNAUTH" .. round))
    t.ok("mailfrom", mt.mailfrom(conn, "<someone@example.net>"))
    t.expect_reply(conn, "MAIL (transaction " .. round .. ")", SMFIR_ACCEPT, "SMFIR_ACCEPT")
end
mt.disconnect(conn)
mt.echo("unauthenticated: accepted at MAIL, twice on one connection")
