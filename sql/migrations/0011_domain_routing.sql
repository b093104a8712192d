-- SPDX-License-Identifier: Apache-2.0
-- 0011_domain_routing.sql - where a domain's mail goes (docs/routing.md):
--   role       'primary': this cluster delivers the domain's mail (its mailboxes are here);
--              'backup': this cluster is a backup MX for it; mail is accepted only for addresses
--              the routing data says exist (relay_recipient_maps) and relayed to the primary.
--   transport  a Postfix transport for the whole domain (transport_maps), e.g.
--              'smtp:[mail.example.net]:25' for a domain whose mailboxes are on another server;
--              '' = the default (vhostmail's delivery for a primary, relay_transport for a backup).
--   relayhost  the smarthost for mail sent from the domain (sender_dependent_relayhost_maps),
--              e.g. '[smtp.example.net]:587'; '' = Postfix's own relayhost. Its SMTP AUTH
--              credentials are not kept here: every daemon's account reads this table.
-- Changing any of them moves the domain's routing serial (domains_au), so every daemon follows.

ALTER TABLE domains
    ADD COLUMN IF NOT EXISTS role ENUM('primary','backup') NOT NULL DEFAULT 'primary'
        AFTER fullname_matching,
    ADD COLUMN IF NOT EXISTS transport VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL DEFAULT '' AFTER role,
    ADD COLUMN IF NOT EXISTS relayhost VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL DEFAULT '' AFTER transport;

-- One address of a domain sent elsewhere (a mailbox already moved to the new server while the
-- rest of the domain is still delivered here): as domains.transport, for that address only.
ALTER TABLE addresses
    ADD COLUMN IF NOT EXISTS transport VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin
        NOT NULL DEFAULT '' AFTER quota_messages;
