-- SPDX-License-Identifier: Apache-2.0
-- 0003_delivery.sql - shared state of the delivery agents (vhostmail-deliver, vhostmail-lmtpd).
-- Idempotent statements only (IF NOT EXISTS), like 0001. docs/cluster.md rules:
--  * mailbox_usage: one row per (address, writing node) holding ABSOLUTE values read from the
--    Maildir's maildirsize after each delivery, never increments: no hot row shared by hosts
--    (rule 1), and a lost or repeated write is harmless. Readers (the policy service's RCPT
--    quota check) take the newest row of the address:
--      SELECT bytes, messages FROM mailbox_usage WHERE address_id = ?
--        ORDER BY updated_at DESC LIMIT 1
--  * vacation_notifications: the "already replied" fact per (address, sender), claimed with
--    INSERT IGNORE (rule 2) or, once the interval has passed, with a conditional UPDATE whose
--    affected-row count says which host won; so two hosts never both send the same reply.

CREATE TABLE IF NOT EXISTS mailbox_usage (
    address_id  BIGINT UNSIGNED NOT NULL,
    node        VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    bytes       BIGINT NOT NULL,
    messages    BIGINT NOT NULL,
    updated_at  TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
    PRIMARY KEY (address_id, node),
    KEY mailbox_usage_recent (address_id, updated_at),
    CONSTRAINT mailbox_usage_address_fk FOREIGN KEY (address_id) REFERENCES addresses (id)
        ON DELETE CASCADE
) ENGINE=InnoDB;

CREATE TABLE IF NOT EXISTS vacation_notifications (
    address_id   BIGINT UNSIGNED NOT NULL,
    sender       VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- lower case
    notified_at  DATETIME(6) NOT NULL,                                           -- UTC
    PRIMARY KEY (address_id, sender),
    KEY vacation_notifications_age (notified_at),
    CONSTRAINT vacation_notifications_address_fk FOREIGN KEY (address_id)
        REFERENCES addresses (id) ON DELETE CASCADE
) ENGINE=InnoDB;
