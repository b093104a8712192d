-- SPDX-License-Identifier: Apache-2.0
-- 0001_initial.sql - the vhostmail data model (docs/specification.md "The data model").
--
-- Every statement is idempotent (IF NOT EXISTS, CREATE OR REPLACE), because MariaDB DDL is not
-- transactional: a migration interrupted half-way is simply run again by `vhostmail db migrate`.
--
-- Change tracking for caches (lookupd's in-memory copy): every row change that can alter routing
-- bumps the writing server's row in routing_serial (a few rows, summed by the poller) and the
-- affected domain's row in routing_versions, in the same transaction as the change. One serial
-- row per server, not one shared row: on a Galera cluster, writers on different nodes bumping
-- the same row would fail each other's commits (docs/cluster.md rule 1). Triggers do it, so changes made by hand
-- with the mariadb client are seen too. MariaDB does not fire triggers for rows removed by
-- ON DELETE CASCADE, so the parent's BEFORE DELETE trigger bumps what its children touched.
-- routing_versions is a separate table because a trigger may not update the table it fires on.

CREATE TABLE IF NOT EXISTS domains (
    id                BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name              VARCHAR(253) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    accepts_mail      BOOLEAN NOT NULL DEFAULT TRUE,   -- FALSE: all incoming mail rejected
    reject_text       VARCHAR(255) NOT NULL DEFAULT '', -- shown when accepts_mail is FALSE
    logins            SET('smtp','imap','pop3','sieve') NOT NULL DEFAULT 'smtp,imap,pop3,sieve',
    max_mailboxes     INT UNSIGNED NULL,               -- NULL: unlimited
    max_aliases       INT UNSIGNED NULL,               -- NULL: unlimited
    quota_bytes       BIGINT UNSIGNED NULL,            -- default mailbox quota; NULL or 0: none
    quota_messages    BIGINT UNSIGNED NULL,
    max_message_size  BIGINT UNSIGNED NULL,            -- NULL: the global limit applies
    -- Catch-all for addresses that match nothing: '' (reject), 'user@other.domain',
    -- '@other.domain' (same local part there), 'localpart' (same domain), '|command args'.
    fallback          VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    filter_command    VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    fullname_matching BOOLEAN NOT NULL DEFAULT FALSE,
    description       VARCHAR(255) NOT NULL DEFAULT '',
    created_at        TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at        TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    UNIQUE KEY domains_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Other names for a domain: joe@alias.example reaches joe@canonical.example.
CREATE TABLE IF NOT EXISTS domain_aliases (
    name        VARCHAR(253) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL PRIMARY KEY,
    domain_id   BIGINT UNSIGNED NOT NULL,
    enabled     BOOLEAN NOT NULL DEFAULT TRUE,
    created_at  TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    KEY domain_aliases_domain (domain_id),
    CONSTRAINT domain_aliases_domain_fk FOREIGN KEY (domain_id) REFERENCES domains (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- An address is any combination of mailbox, forwardings, password, grants and vacation.
-- local_part is stored lower-case (ASCII folding), compared byte-wise.
CREATE TABLE IF NOT EXISTS addresses (
    id             BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    domain_id      BIGINT UNSIGNED NOT NULL,
    local_part     VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    enabled        BOOLEAN NOT NULL DEFAULT TRUE,
    mailbox        BOOLEAN NOT NULL DEFAULT FALSE,    -- TRUE: local Maildir delivery
    maildir        VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
                                                      -- relative to the mail base; NULL: domain/local/
    quota_bytes    BIGINT UNSIGNED NULL,              -- NULL: the domain's default; 0: unlimited
    quota_messages BIGINT UNSIGNED NULL,
    password       VARCHAR(255) CHARACTER SET ascii COLLATE ascii_bin NULL, -- a hash; NULL: no login
    full_name      VARCHAR(255) NOT NULL DEFAULT '',
    logins         SET('smtp','imap','pop3','sieve') NOT NULL DEFAULT 'smtp,imap,pop3,sieve',
    created_at     TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at     TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP,
    UNIQUE KEY addresses_domain_local (domain_id, local_part),
    CONSTRAINT addresses_domain_fk FOREIGN KEY (domain_id) REFERENCES domains (id)
        ON DELETE CASCADE,
    CONSTRAINT addresses_local_part_nonempty CHECK (local_part <> '')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Forwarding destinations of an address: full addresses, local or remote.
CREATE TABLE IF NOT EXISTS forwardings (
    address_id   BIGINT UNSIGNED NOT NULL,
    destination  VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    PRIMARY KEY (address_id, destination),
    CONSTRAINT forwardings_address_fk FOREIGN KEY (address_id) REFERENCES addresses (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Further send rights: the login (address_id) may use local_part@domain as sender;
-- local_part '' grants the whole domain.
CREATE TABLE IF NOT EXISTS send_grants (
    address_id  BIGINT UNSIGNED NOT NULL,
    domain_id   BIGINT UNSIGNED NOT NULL,
    local_part  VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
    PRIMARY KEY (address_id, domain_id, local_part),
    KEY send_grants_target (domain_id, local_part),
    CONSTRAINT send_grants_address_fk FOREIGN KEY (address_id) REFERENCES addresses (id)
        ON DELETE CASCADE,
    CONSTRAINT send_grants_domain_fk FOREIGN KEY (domain_id) REFERENCES domains (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS vacations (
    address_id        BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    subject           VARCHAR(255) NOT NULL DEFAULT '',
    body              TEXT NOT NULL,
    starts_at         DATETIME NULL,                  -- UTC; NULL: already active
    ends_at           DATETIME NULL,                  -- UTC; NULL: open-ended
    interval_seconds  INT UNSIGNED NOT NULL DEFAULT 604800,
    CONSTRAINT vacations_address_fk FOREIGN KEY (address_id) REFERENCES addresses (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Domain administrators are addresses (they log in like users) that may manage one domain.
CREATE TABLE IF NOT EXISTS domain_admins (
    address_id  BIGINT UNSIGNED NOT NULL,
    domain_id   BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (address_id, domain_id),
    KEY domain_admins_domain (domain_id),
    CONSTRAINT domain_admins_address_fk FOREIGN KEY (address_id) REFERENCES addresses (id)
        ON DELETE CASCADE,
    CONSTRAINT domain_admins_domain_fk FOREIGN KEY (domain_id) REFERENCES domains (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- SUM(serial) only grows: any committed routing change makes it larger.
CREATE TABLE IF NOT EXISTS routing_serial (
    node    VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL PRIMARY KEY,
    serial  BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB;

INSERT IGNORE INTO routing_serial (node, serial) VALUES ('', 1);

CREATE TABLE IF NOT EXISTS routing_versions (
    domain_id  BIGINT UNSIGNED NOT NULL PRIMARY KEY,
    version    BIGINT UNSIGNED NOT NULL
) ENGINE=InnoDB;

DELIMITER //

CREATE OR REPLACE PROCEDURE vhm_touch_domain(IN p_domain_id BIGINT UNSIGNED)
    MODIFIES SQL DATA
BEGIN
    IF p_domain_id IS NOT NULL THEN
        INSERT INTO routing_versions (domain_id, version) VALUES (p_domain_id, 1)
            ON DUPLICATE KEY UPDATE version = version + 1;
    END IF;
    INSERT INTO routing_serial (node, serial) VALUES (CONCAT(@@hostname, ':', @@port), 1)
        ON DUPLICATE KEY UPDATE serial = serial + 1;
END //

CREATE OR REPLACE PROCEDURE vhm_touch_grant_targets(IN p_address_id BIGINT UNSIGNED)
    MODIFIES SQL DATA
BEGIN
    INSERT INTO routing_versions (domain_id, version)
        SELECT DISTINCT domain_id, 1 FROM send_grants WHERE address_id = p_address_id
        ON DUPLICATE KEY UPDATE version = version + 1;
END //

CREATE OR REPLACE PROCEDURE vhm_touch_address(IN p_address_id BIGINT UNSIGNED)
    MODIFIES SQL DATA
BEGIN
    CALL vhm_touch_domain((SELECT domain_id FROM addresses WHERE id = p_address_id));
END //

CREATE OR REPLACE TRIGGER domains_ai AFTER INSERT ON domains FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(NEW.id);
END //

CREATE OR REPLACE TRIGGER domains_bi BEFORE INSERT ON domains FOR EACH ROW
BEGIN
    IF EXISTS (SELECT 1 FROM domain_aliases WHERE name = NEW.name) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'domain name is already a domain alias';
    END IF;
END //

CREATE OR REPLACE TRIGGER domains_au AFTER UPDATE ON domains FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(NEW.id);
END //

CREATE OR REPLACE TRIGGER domains_bd BEFORE DELETE ON domains FOR EACH ROW
BEGIN
    -- grants held by this domain's addresses on other domains vanish by cascade
    INSERT INTO routing_versions (domain_id, version)
        SELECT DISTINCT g.domain_id, 1 FROM send_grants g JOIN addresses a ON a.id = g.address_id
        WHERE a.domain_id = OLD.id
        ON DUPLICATE KEY UPDATE version = version + 1;
    CALL vhm_touch_domain(OLD.id);
END //

CREATE OR REPLACE TRIGGER domain_aliases_bi BEFORE INSERT ON domain_aliases FOR EACH ROW
BEGIN
    IF EXISTS (SELECT 1 FROM domains WHERE name = NEW.name) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'domain alias name is already a domain';
    END IF;
END //

CREATE OR REPLACE TRIGGER domain_aliases_ai AFTER INSERT ON domain_aliases FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(NEW.domain_id);
END //

CREATE OR REPLACE TRIGGER domain_aliases_au AFTER UPDATE ON domain_aliases FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(OLD.domain_id);
    CALL vhm_touch_domain(NEW.domain_id);
END //

CREATE OR REPLACE TRIGGER domain_aliases_ad AFTER DELETE ON domain_aliases FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(OLD.domain_id);
END //

CREATE OR REPLACE TRIGGER addresses_ai AFTER INSERT ON addresses FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(NEW.domain_id);
END //

CREATE OR REPLACE TRIGGER addresses_au AFTER UPDATE ON addresses FOR EACH ROW
BEGIN
    CALL vhm_touch_grant_targets(NEW.id);
    CALL vhm_touch_domain(OLD.domain_id);
    CALL vhm_touch_domain(NEW.domain_id);
END //

CREATE OR REPLACE TRIGGER addresses_bd BEFORE DELETE ON addresses FOR EACH ROW
BEGIN
    CALL vhm_touch_grant_targets(OLD.id);
    CALL vhm_touch_domain(OLD.domain_id);
END //

CREATE OR REPLACE TRIGGER forwardings_ai AFTER INSERT ON forwardings FOR EACH ROW
BEGIN
    CALL vhm_touch_address(NEW.address_id);
END //

CREATE OR REPLACE TRIGGER forwardings_au AFTER UPDATE ON forwardings FOR EACH ROW
BEGIN
    CALL vhm_touch_address(OLD.address_id);
    CALL vhm_touch_address(NEW.address_id);
END //

CREATE OR REPLACE TRIGGER forwardings_ad AFTER DELETE ON forwardings FOR EACH ROW
BEGIN
    CALL vhm_touch_address(OLD.address_id);
END //

CREATE OR REPLACE TRIGGER send_grants_ai AFTER INSERT ON send_grants FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(NEW.domain_id);
END //

CREATE OR REPLACE TRIGGER send_grants_au AFTER UPDATE ON send_grants FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(OLD.domain_id);
    CALL vhm_touch_domain(NEW.domain_id);
END //

CREATE OR REPLACE TRIGGER send_grants_ad AFTER DELETE ON send_grants FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(OLD.domain_id);
END //

CREATE OR REPLACE TRIGGER vacations_ai AFTER INSERT ON vacations FOR EACH ROW
BEGIN
    CALL vhm_touch_address(NEW.address_id);
END //

CREATE OR REPLACE TRIGGER vacations_au AFTER UPDATE ON vacations FOR EACH ROW
BEGIN
    CALL vhm_touch_address(NEW.address_id);
END //

CREATE OR REPLACE TRIGGER vacations_ad AFTER DELETE ON vacations FOR EACH ROW
BEGIN
    CALL vhm_touch_address(OLD.address_id);
END //

CREATE OR REPLACE TRIGGER domain_admins_ai AFTER INSERT ON domain_admins FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(NEW.domain_id);
END //

CREATE OR REPLACE TRIGGER domain_admins_ad AFTER DELETE ON domain_admins FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(OLD.domain_id);
END //

DELIMITER ;
