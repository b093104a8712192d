-- SPDX-License-Identifier: Apache-2.0
-- owned_from_signed.lua - miltertest(8) script for vhostmail-milter: a user logged in as
-- xandros@blobber.org sends with his own From. The milter must go on after MAIL and after the
-- header, and at end of message accept it with two DKIM-Signature fields inserted at the top
-- (index 0): d=blobber.org with s=r1 (rsa-sha256) and s=e1 (ed25519-sha256), each value
-- starting with a space (SMFIP_HDR_LEADSPC) and folded with bare LF (as Postfix wants).
--
-- usage: miltertest -D socket=unix:/path/to/milter -s owned_from_signed.lua
-- Exits 0 when every reply is as expected, 1 otherwise (the reason on stderr).
--
-- miltertest notes (v1.6.0): it offers every protocol step and action by default, so the
-- milter gets SMFIP_NR_CONN/NR_HDR/NR_BODY and HDR_LEADSPC; with those miltertest reads no
-- reply for connect/header/body (mt.getreply then gives SMFIR_CONTINUE, made up by
-- miltertest) and puts the one space after the colon itself: header values below are
-- written without it. mt.negotiate(conn, version, steps, actions): the code takes the
-- protocol steps third and the actions fourth, the reverse of what the man page says; nil
-- for both (as here) offers everything.

-- miltertest 1.6.0 (with Lua 5.3) exits 1 on error() but does not print the message:
-- fail() writes it to stderr first.
local function fail(message)
    io.stderr:write(string.format("%s: FAIL: %s\n", "owned_from_signed.lua", message))
    error(message, 0)
end

if socket == nil then
    fail("usage: miltertest -D socket=unix:/path -s owned_from_signed.lua")
end

local function ok(what, err)  -- mt.* calls give nil, or an error string
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

local function tags_of(value)  -- DKIM tag=value list, folding whitespace removed
    local tags = {}
    for k, v in string.gmatch(value:gsub("%s", ""), "(%w+)=([^;]*)") do tags[k] = v end
    return tags
end

mt.set_timeout(30)  -- an ASan build answers slowly
local conn = mt.connect(socket, 20, 0.25)
if conn == nil then fail("cannot connect to " .. socket) end

ok("negotiate", mt.negotiate(conn, nil, nil, nil))
for name, option in pairs({SMFIP_NR_HDR = SMFIP_NR_HDR,
                           SMFIP_NR_BODY = SMFIP_NR_BODY,
                           SMFIP_HDR_LEADSPC = SMFIP_HDR_LEADSPC, SMFIP_NORCPT = SMFIP_NORCPT}) do
    if not mt.test_option(conn, option) then
        fail("the milter did not ask for " .. name)
    end
end
if not mt.test_action(conn, SMFIF_ADDHDRS) then
    fail("the milter did not ask for SMFIF_ADDHDRS")
end

ok("conninfo", mt.conninfo(conn, "client.example.net", "192.0.2.10"))
-- Postfix sends milter_mail_macros before MAIL; mt.macro replaces the stage's whole set.
ok("macro", mt.macro(conn, SMFIC_MAIL, "i", "MTOWNED", "{auth_type}", "PLAIN",
                     "{auth_authen}", "xandros@blobber.org"))
ok("mailfrom", mt.mailfrom(conn, "<xandros@blobber.org>"))
expect_reply(conn, "MAIL", SMFIR_CONTINUE, "SMFIR_CONTINUE")

for _, h in ipairs({{"From", "Xandros Blob <xandros@blobber.org>"},
                    {"To", "<friend@example.net>"},
                    {"Subject", "owned From through miltertest"},
                    {"Date", "Mon, 07 Dec 2026 10:00:00 +0000"},
                    {"Message-ID", "<owned.miltertest@client.vhostmail.test>"},
                    {"MIME-Version", "1.0"},
                    {"Content-Type", "text/plain; charset=us-ascii"}}) do
    ok("header " .. h[1], mt.header(conn, h[1], h[2]))
end
ok("eoh", mt.eoh(conn))
expect_reply(conn, "end of header", SMFIR_CONTINUE, "SMFIR_CONTINUE")
ok("body", mt.bodystring(conn, "Hello from miltertest.\r\n"))
ok("eom", mt.eom(conn))
expect_reply(conn, "end of message", SMFIR_ACCEPT, "SMFIR_ACCEPT")

if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then
    fail("no DKIM-Signature inserted")
end
if mt.eom_check(conn, MT_HDRADD) or mt.eom_check(conn, MT_HDRCHANGE) or
   mt.eom_check(conn, MT_HDRDELETE) or mt.eom_check(conn, MT_BODYCHANGE) then
    fail("the milter changed more than inserting headers")
end

local want = {r1 = "rsa-sha256", e1 = "ed25519-sha256"}
local seen = {}
for i = 0, 2 do
    local value = mt.getheader(conn, "DKIM-Signature", i)
    if value == nil then break end
    mt.echo(string.format("DKIM-Signature #%d:%s", i, value))
    if value:sub(1, 1) ~= " " then fail("DKIM-Signature value has no leading space") end
    if value:find("\r", 1, true) then fail("DKIM-Signature value folded with CR") end
    if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature", value, 0) then
        fail("DKIM-Signature not inserted at index 0")
    end
    local t = tags_of(value)
    if t.v ~= "1" or t.d ~= "blobber.org" or t.c ~= "relaxed/relaxed" or t.b == nil or
       t.bh == nil or want[t.s] == nil or want[t.s] ~= t.a or seen[t.s] then
        fail(string.format("unexpected DKIM-Signature: a=%s c=%s d=%s s=%s", tostring(t.a),
                           tostring(t.c), tostring(t.d), tostring(t.s)))
    end
    seen[t.s] = true
end
if not (seen.r1 and seen.e1) or mt.getheader(conn, "DKIM-Signature", 2) ~= nil then
    fail("want exactly two DKIM-Signature fields, s=r1 and s=e1")
end

mt.disconnect(conn)
mt.echo("owned From: accepted at end of message, signed with s=r1 and s=e1")
