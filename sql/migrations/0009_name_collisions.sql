-- SPDX-License-Identifier: Apache-2.0
-- 0009_name_collisions.sql - a domain and a domain alias never share a name, after an UPDATE
-- too: 0001 checks only INSERTs, so a rename could make a name both, and then which of the two
-- the routing copy answered for it depended on their ids. Idempotent statements.

DELIMITER //

CREATE OR REPLACE TRIGGER domains_bu BEFORE UPDATE ON domains FOR EACH ROW
BEGIN
    IF NEW.name <> OLD.name AND EXISTS (SELECT 1 FROM domain_aliases WHERE name = NEW.name) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'domain name is already a domain alias';
    END IF;
END //

CREATE OR REPLACE TRIGGER domain_aliases_bu BEFORE UPDATE ON domain_aliases FOR EACH ROW
BEGIN
    IF NEW.name <> OLD.name AND EXISTS (SELECT 1 FROM domains WHERE name = NEW.name) THEN
        SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'domain alias name is already a domain';
    END IF;
END //

DELIMITER ;
