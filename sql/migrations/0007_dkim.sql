-- SPDX-License-Identifier: Apache-2.0
-- 0007_dkim.sql - what vhostmail-milter needs: DKIM signing keys per domain, and whether a
-- login may put any address of its own domain in the From: header. Idempotent statements.
--
-- dkim_keys holds where each private key is (a file under the configuration directory, read by
-- the milter only) and the public key, never the private key itself: every daemon's database
-- account and every domain administrator may read this table. A key is 'new' until activated
-- (published in DNS first), 'active' while it signs, 'retired' after; at most one key per domain
-- and algorithm is active, which `vhostmail dkim activate` keeps true in one transaction, so a
-- rotation never leaves a moment without an active key. The triggers bump the change serial, so
-- milters see a new key within their refresh interval.

CREATE TABLE IF NOT EXISTS dkim_keys (
    id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    domain_id     BIGINT UNSIGNED NOT NULL,
    selector      VARCHAR(63) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    algorithm     ENUM('rsa-sha256', 'ed25519-sha256') NOT NULL,
    key_file      VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    public_key    TEXT CHARACTER SET ascii COLLATE ascii_bin NOT NULL,  -- the DNS record's p=
    state         ENUM('new', 'active', 'retired') NOT NULL DEFAULT 'new',
    created_at    TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    activated_at  TIMESTAMP NULL,
    retired_at    TIMESTAMP NULL,
    UNIQUE KEY dkim_keys_selector (domain_id, selector),
    CONSTRAINT dkim_keys_domain_fk FOREIGN KEY (domain_id) REFERENCES domains (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Shared mailboxes: a login may use any address of its own domain (or the domain's aliases) in
-- From:. Off by default (the From address must be one the login may send as); per address NULL
-- means the domain's setting.
ALTER TABLE domains ADD COLUMN IF NOT EXISTS from_any_in_domain BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE addresses ADD COLUMN IF NOT EXISTS from_any_in_domain BOOLEAN NULL;

DELIMITER //

CREATE OR REPLACE TRIGGER dkim_keys_ai AFTER INSERT ON dkim_keys FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(NEW.domain_id);
END //

CREATE OR REPLACE TRIGGER dkim_keys_au AFTER UPDATE ON dkim_keys FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(OLD.domain_id);
    IF NEW.domain_id <> OLD.domain_id THEN
        CALL vhm_touch_domain(NEW.domain_id);
    END IF;
END //

CREATE OR REPLACE TRIGGER dkim_keys_ad AFTER DELETE ON dkim_keys FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(OLD.domain_id);
END //

DELIMITER ;
