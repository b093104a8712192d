-- SPDX-License-Identifier: Apache-2.0
-- 0005_auth_attempts.sql - throttling state counted per (client, login) pair, so that a
-- success forgives only the failures of that login from that client. Idempotent statements.
--
-- What is kept where:
--   auth_attempts: login attempts counted as failures, per client key (an IPv4 address, an
--     IPv6 /64, "uid:N" for a local user of the admin tool, "" when the protocol names no
--     client) and login key (lower case, no +extension), in one-minute buckets. An attempt is
--     counted before its password is checked and taken back when it is refused or succeeds,
--     so concurrent attempts on any host see each other. Readers sum a client's rows (any
--     login) and a login's rows (any client) over the throttle window. docs/cluster.md rule 1: each
--     writer (shard) updates only its own rows with ... ON DUPLICATE KEY UPDATE failures =
--     failures + 1. A success deletes the rows of its (client, login) pair only: one good
--     account never resets a client that is trying passwords on others. Old buckets are
--     deleted in small batches by the writers.
--   auth_trust (0002) is unchanged.
--   auth_failures (0002) is no longer written or read; it stays until no older authd that
--   reads it can still be running, and a later migration drops it.

CREATE TABLE IF NOT EXISTS auth_attempts (
    client        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    login         VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    bucket        BIGINT UNSIGNED NOT NULL,           -- UNIX time / 60
    shard         VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    failures      INT UNSIGNED NOT NULL,
    PRIMARY KEY (client, login, bucket, shard),
    KEY auth_attempts_login (login, bucket),
    KEY auth_attempts_bucket (bucket)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
