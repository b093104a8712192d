-- SPDX-License-Identifier: Apache-2.0
-- 0002_auth.sql - shared state of vhostmail-authd's throttling (issue 3). Idempotent statements.
--
-- What is kept where:
--   auth_failures: failed logins counted per subject (the client address, and the login) in
--     one-minute buckets. docs/cluster.md rule 1: each authd instance ("shard", host:pid-independent
--     daemon id) writes only its own rows, with INSERT ... ON DUPLICATE KEY UPDATE n = n + 1, and
--     readers SUM over shards and over the buckets of the throttle window, so hosts never
--     contend on one row. A success deletes the subject's rows (the reset); buckets older than
--     the window are deleted in small batches by authd itself.
--   auth_trust: the last successful login of a login from a client address. A client that
--     logged in as a login recently is not blocked by that login's failures from elsewhere, so
--     an attack on an account does not lock its owner out. Upsert keeping the latest time: a
--     conflict between hosts is harmless (docs/cluster.md rule 2).
-- Nothing here holds a password or a hash.

CREATE TABLE IF NOT EXISTS auth_failures (
    kind          ENUM('client','login') NOT NULL,
    subject       VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    bucket        BIGINT UNSIGNED NOT NULL,           -- UNIX time / 60
    shard         VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    failures      INT UNSIGNED NOT NULL,
    PRIMARY KEY (kind, subject, bucket, shard),
    KEY auth_failures_bucket (bucket)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS auth_trust (
    login         VARCHAR(320) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
    client        VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    last_success  BIGINT UNSIGNED NOT NULL,           -- UNIX time
    PRIMARY KEY (login, client),
    KEY auth_trust_time (last_success)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
