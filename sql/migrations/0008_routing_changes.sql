-- SPDX-License-Identifier: Apache-2.0
-- 0008_routing_changes.sql - which domains changed since a poller last looked, found without
-- reading every domain's version; and the changes no trigger reported before (found by the
-- differential test of the copy against direct queries): a renamed or deleted address or
-- domain changes the login lists (grants, administrators) of the domains that name it, and an
-- administrator row can be updated by hand. Idempotent statements.
--
-- Each routing_versions row also records the server ("node", as in routing_serial) that
-- changed the domain last and that server's serial right after the change. A server's serial
-- row is locked from the bump to the commit, so its serials commit in order: a poller that has
-- seen serial S of a node finds every later change of that node's with
-- "node = ? AND node_serial > S" (an index range), in the same consistent snapshot in which it
-- reads the node's new serial. Changes made by another node carry that node's name, so no
-- row is missed when several Galera nodes write. Rows written before this migration keep
-- node = '' and are found by the first (full) load.

ALTER TABLE routing_versions
    ADD COLUMN IF NOT EXISTS node VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL
        DEFAULT '',
    ADD COLUMN IF NOT EXISTS node_serial BIGINT UNSIGNED NOT NULL DEFAULT 0,
    ADD INDEX IF NOT EXISTS routing_versions_changes (node, node_serial);

-- The milter reloads the addresses with a From: setting of their own whenever the serial
-- moves: an index keeps that from scanning every address (1.5 million at the scale measured).
ALTER TABLE addresses ADD INDEX IF NOT EXISTS addresses_from_any (from_any_in_domain);

DELIMITER //

-- Bumps this server's serial and returns it with the server's name.
CREATE OR REPLACE PROCEDURE vhm_bump_serial(OUT p_node VARCHAR(128), OUT p_serial BIGINT UNSIGNED)
    MODIFIES SQL DATA
BEGIN
    SET p_node = CONCAT(@@hostname, ':', @@port);
    INSERT INTO routing_serial (node, serial) VALUES (p_node, 1)
        ON DUPLICATE KEY UPDATE serial = serial + 1;
    SELECT serial INTO p_serial FROM routing_serial WHERE node = p_node;
END //

CREATE OR REPLACE PROCEDURE vhm_touch_domain(IN p_domain_id BIGINT UNSIGNED)
    MODIFIES SQL DATA
BEGIN
    DECLARE v_node VARCHAR(128);
    DECLARE v_serial BIGINT UNSIGNED;
    CALL vhm_bump_serial(v_node, v_serial);
    IF p_domain_id IS NOT NULL THEN
        INSERT INTO routing_versions (domain_id, version, node, node_serial)
            VALUES (p_domain_id, 1, v_node, v_serial)
            ON DUPLICATE KEY UPDATE version = version + 1, node = v_node, node_serial = v_serial;
    END IF;
END //

-- The domains whose lists of logins name this address: those it holds send grants on and
-- those it administers. Its login text changes when it is renamed, and its rows there vanish
-- by cascade (no trigger fires) when it is deleted.
CREATE OR REPLACE PROCEDURE vhm_touch_grant_targets(IN p_address_id BIGINT UNSIGNED)
    MODIFIES SQL DATA
BEGIN
    DECLARE v_node VARCHAR(128);
    DECLARE v_serial BIGINT UNSIGNED;
    CALL vhm_bump_serial(v_node, v_serial);
    INSERT INTO routing_versions (domain_id, version, node, node_serial)
        SELECT domain_id, 1, v_node, v_serial FROM send_grants WHERE address_id = p_address_id
        UNION
        SELECT domain_id, 1, v_node, v_serial FROM domain_admins WHERE address_id = p_address_id
        ON DUPLICATE KEY UPDATE version = version + 1, node = v_node, node_serial = v_serial;
END //

-- The same for every address of a domain (deleted: cascades; renamed: every login changes).
CREATE OR REPLACE PROCEDURE vhm_touch_domain_login_targets(IN p_domain_id BIGINT UNSIGNED)
    MODIFIES SQL DATA
BEGIN
    DECLARE v_node VARCHAR(128);
    DECLARE v_serial BIGINT UNSIGNED;
    CALL vhm_bump_serial(v_node, v_serial);
    INSERT INTO routing_versions (domain_id, version, node, node_serial)
        SELECT g.domain_id, 1, v_node, v_serial FROM send_grants g
        JOIN addresses a ON a.id = g.address_id WHERE a.domain_id = p_domain_id
        UNION
        SELECT da.domain_id, 1, v_node, v_serial FROM domain_admins da
        JOIN addresses a ON a.id = da.address_id WHERE a.domain_id = p_domain_id
        ON DUPLICATE KEY UPDATE version = version + 1, node = v_node, node_serial = v_serial;
END //

CREATE OR REPLACE TRIGGER domains_au AFTER UPDATE ON domains FOR EACH ROW
BEGIN
    IF NOT (OLD.name <=> NEW.name) THEN
        CALL vhm_touch_domain_login_targets(NEW.id);
    END IF;
    CALL vhm_touch_domain(NEW.id);
END //

CREATE OR REPLACE TRIGGER domains_bd BEFORE DELETE ON domains FOR EACH ROW
BEGIN
    CALL vhm_touch_domain_login_targets(OLD.id);
    CALL vhm_touch_domain(OLD.id);
END //

-- Moving an administrator row by hand (the admin tool inserts and deletes them).
CREATE OR REPLACE TRIGGER domain_admins_au AFTER UPDATE ON domain_admins FOR EACH ROW
BEGIN
    CALL vhm_touch_domain(OLD.domain_id);
    CALL vhm_touch_domain(NEW.domain_id);
END //

DELIMITER ;
