-- SPDX-License-Identifier: Apache-2.0
-- 0006_autoreply_outbox.sql - auto-replies that could not be submitted when their message was
-- delivered. Idempotent statements.
--
-- What is kept where:
--   autoreply_outbox: the composed reply, whom it goes to, and when to try again. The message it
--     answers is in its Maildir already, so delivery cannot be retried for it; the reply waits
--     here instead (its vacation_notifications claim stays, so no second reply is made
--     meanwhile). Any vhostmail-lmtpd sends due rows: it claims one by moving next_attempt_at
--     forward with a conditional UPDATE (the affected-row count says which host won, so two
--     hosts never send the same row), deletes it once sendmail took it, and gives up after
--     lmtpd_autoreply_lifetime (5 days, Postfix's maximal_queue_lifetime) with an error log.

CREATE TABLE IF NOT EXISTS autoreply_outbox (
    id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
    address_id       BIGINT UNSIGNED NOT NULL,   -- the address that replies
    recipient        VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    message          MEDIUMBLOB NOT NULL,        -- the whole reply, headers and body
    created_at       BIGINT UNSIGNED NOT NULL,   -- UNIX time
    next_attempt_at  BIGINT UNSIGNED NOT NULL,   -- UNIX time
    attempts         INT UNSIGNED NOT NULL DEFAULT 0,
    last_error       VARCHAR(255) CHARACTER SET utf8mb4 NOT NULL DEFAULT '',
    KEY autoreply_outbox_due (next_attempt_at),
    CONSTRAINT autoreply_outbox_address_fk FOREIGN KEY (address_id)
        REFERENCES addresses (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
