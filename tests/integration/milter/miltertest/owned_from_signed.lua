-- SPDX-License-Identifier: Apache-2.0
-- owned_from_signed.lua - miltertest(8) script for vhostmail-milter: a user logged in as
-- xandros@blobber.org sends with his own From. The milter must go on after MAIL and after the
-- header, and at end of message accept it with two DKIM-Signature fields inserted at the top
-- (index 0): d=blobber.org with s=r1 (rsa-sha256) and s=e1 (ed25519-sha256), each value
-- starting with a space (SMFIP_HDR_LEADSPC) and folded with bare LF (as Postfix wants).
--
-- usage: miltertest -D socket=unix:/path/to/milter -D common=/path/to/common.lua \
--            -s owned_from_signed.lua
-- Exits 0 when every reply is as expected, 1 otherwise (the reason on stderr).
--
-- miltertest notes (v1.6.0): it offers every protocol step and action by default, so the
-- milter gets SMFIP_NR_CONN/NR_HDR/NR_BODY and HDR_LEADSPC; with those miltertest reads no
-- reply for connect/header/body (mt.getreply then gives SMFIR_CONTINUE, made up by
-- miltertest) and puts the one space after the colon itself: header values below are
-- written without it. mt.negotiate(conn, version, steps, actions): the code takes the
-- protocol steps third and the actions fourth, the reverse of what the man page says; nil
-- for both (as here) offers everything.

local t = dofile(common)

local function tags_of(value)  -- DKIM tag=value list, folding whitespace removed
    local tags = {}
    for k, v in string.gmatch(value:gsub("%s", ""), "(%w+)=([^;]*)") do tags[k] = v end
    return tags
end

local conn = t.connect()
for name, option in pairs({SMFIP_NR_HDR = SMFIP_NR_HDR,
                           SMFIP_NR_BODY = SMFIP_NR_BODY,
                           SMFIP_HDR_LEADSPC = SMFIP_HDR_LEADSPC, SMFIP_NORCPT = SMFIP_NORCPT}) do
    if not mt.test_option(conn, option) then
        t.fail("the milter did not ask for " .. name)
    end
end
if not mt.test_action(conn, SMFIF_ADDHDRS) then
    t.fail("the milter did not ask for SMFIF_ADDHDRS")
end

t.logged_in_header(conn, "MTOWNED", "xandros@blobber.org",
                   {{"From", "Xandros Blob <xandros@blobber.org>"},
                    {"To", "<friend@example.net>"},
                    {"Subject", "owned From through miltertest"},
                    {"Date", "Mon, 07 Dec 2026 10:00:00 +0000"},
                    {"Message-ID", "<owned.miltertest@client.vhostmail.test>"},
                    {"MIME-Version", "1.0"},
                    {"Content-Type", "text/plain; charset=us-ascii"}})
t.expect_reply(conn, "end of header", SMFIR_CONTINUE, "SMFIR_CONTINUE")
t.ok("body", mt.bodystring(conn, "Hello from miltertest.\r\n"))
t.ok("eom", mt.eom(conn))
t.expect_reply(conn, "end of message", SMFIR_ACCEPT, "SMFIR_ACCEPT")

if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature") then
    t.fail("no DKIM-Signature inserted")
end
if mt.eom_check(conn, MT_HDRADD) or mt.eom_check(conn, MT_HDRCHANGE) or
   mt.eom_check(conn, MT_HDRDELETE) or mt.eom_check(conn, MT_BODYCHANGE) then
    t.fail("the milter changed more than inserting headers")
end

local want = {r1 = "rsa-sha256", e1 = "ed25519-sha256"}
local seen = {}
for i = 0, 2 do
    local value = mt.getheader(conn, "DKIM-Signature", i)
    if value == nil then break end
    mt.echo(string.format("DKIM-Signature #%d:%s", i, value))
    if value:sub(1, 1) ~= " " then t.fail("DKIM-Signature value has no leading space") end
    if value:find("\r", 1, true) then t.fail("DKIM-Signature value folded with CR") end
    if not mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature", value, 0) then
        t.fail("DKIM-Signature not inserted at index 0")
    end
    local t = tags_of(value)
    if t.v ~= "1" or t.d ~= "blobber.org" or t.c ~= "relaxed/relaxed" or t.b == nil or
       t.bh == nil or want[t.s] == nil or want[t.s] ~= t.a or seen[t.s] then
        t.fail(string.format("unexpected DKIM-Signature: a=%s c=%s d=%s s=%s", tostring(t.a),
                           tostring(t.c), tostring(t.d), tostring(t.s)))
    end
    seen[t.s] = true
end
if not (seen.r1 and seen.e1) or mt.getheader(conn, "DKIM-Signature", 2) ~= nil then
    t.fail("want exactly two DKIM-Signature fields, s=r1 and s=e1")
end

mt.disconnect(conn)
mt.echo("owned From: accepted at end of message, signed with s=r1 and s=e1")
