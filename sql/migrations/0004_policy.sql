-- SPDX-License-Identifier: Apache-2.0
-- 0004_policy.sql - vhostmail-policyd's settings and shared state (issue 4). Idempotent
-- statements only, like 0001.
--
-- What is kept where:
--   send_limits: per-domain and per-address sending budgets (admin data). An address's rule
--     overrides its domain's 'each' rule for the same budget and window, which overrides the
--     global default of the config file; a domain's 'total' rule is one budget shared by all
--     its addresses. Triggers bump routing_versions/routing_serial like every routing change,
--     so policyd re-reads the rules within its staleness bound, without polling this table.
--   rate_counters: how much of a budget was used, per counter key and fixed window. docs/cluster.md
--     rule 1: each policyd instance (shard) adds its own increments to its own row with
--     INSERT ... ON DUPLICATE KEY UPDATE n = n + ?, batched in memory for a fraction of a
--     second (rule 4); readers SUM over shards. expires_at lets old windows be deleted in small
--     batches.
--   greylist: one row per triplet (client network, sender, recipient). The first sighting is
--     claimed with INSERT IGNORE (rule 2); the pass is a conditional UPDATE (passed_at IS NULL),
--     so two hosts never disagree on who saw it first. Times are the database's UNIX_TIMESTAMP(),
--     so hosts with skewed clocks still agree on the delay.
--   greylist_clients: successful retries per client network and shard (rule 1), summed for the
--     automatic whitelist.
-- mailbox_usage (0003) is what the recipient check reads for quotas.

CREATE TABLE IF NOT EXISTS send_limits (
    id              BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    domain_id       BIGINT UNSIGNED NOT NULL,
    address_id      BIGINT UNSIGNED NULL,               -- NULL: a rule of the whole domain
    applies_to      ENUM('each','total') NOT NULL DEFAULT 'each', -- domain rules: per address, or all together
    budget          ENUM('messages','recipients','bytes','recipients_per_message') NOT NULL,
    window_seconds  INT UNSIGNED NOT NULL DEFAULT 0,    -- 0 for recipients_per_message
    max_value       BIGINT UNSIGNED NOT NULL,
    KEY send_limits_domain (domain_id),
    KEY send_limits_address (address_id),
    CONSTRAINT send_limits_domain_fk FOREIGN KEY (domain_id) REFERENCES domains (id)
        ON DELETE CASCADE,
    CONSTRAINT send_limits_address_fk FOREIGN KEY (address_id) REFERENCES addresses (id)
        ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS rate_counters (
    counter_key   VARCHAR(400) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    window_start  BIGINT UNSIGNED NOT NULL,     -- UNIX time, a multiple of the window length
    shard         VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    n             BIGINT UNSIGNED NOT NULL,
    expires_at    BIGINT UNSIGNED NOT NULL,     -- UNIX time after which the row is useless
    PRIMARY KEY (counter_key, window_start, shard),
    KEY rate_counters_expiry (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS greylist (
    client_net  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    sender      VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- lower case
    recipient   VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, -- lower case
    first_seen  BIGINT UNSIGNED NOT NULL,       -- UNIX time (database clock)
    passed_at   BIGINT UNSIGNED NULL,           -- NULL until a retry after the delay
    last_seen   BIGINT UNSIGNED NOT NULL,
    PRIMARY KEY (client_net, sender, recipient),
    KEY greylist_last_seen (last_seen)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci ROW_FORMAT=DYNAMIC;

CREATE TABLE IF NOT EXISTS greylist_clients (
    client_net  VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    shard       VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    passes      BIGINT UNSIGNED NOT NULL,
    last_pass   BIGINT UNSIGNED NOT NULL,       -- UNIX time (database clock)
    PRIMARY KEY (client_net, shard),
    KEY greylist_clients_last_pass (last_pass)
) ENGINE=InnoDB;

DELIMITER //

CREATE OR REPLACE TRIGGER send_limits_ai AFTER INSERT ON send_limits FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(NEW.domain_id);
END //

CREATE OR REPLACE TRIGGER send_limits_au AFTER UPDATE ON send_limits FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(OLD.domain_id);
    IF NEW.domain_id <> OLD.domain_id THEN
        CALL vhm_touch_domain(NEW.domain_id);
    END IF;
END //

CREATE OR REPLACE TRIGGER send_limits_ad AFTER DELETE ON send_limits FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(OLD.domain_id);
END //

DELIMITER ;
