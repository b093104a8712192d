-- SPDX-License-Identifier: Apache-2.0
-- 0010_counter_flushes.sql - the last flush of its rate counters each policyd instance (shard)
-- committed. A flush is one transaction that adds its increments and records its flush_id
-- here; when the reply to its COMMIT is lost (the connection broke after the server committed),
-- policyd cannot tell whether the increments were stored, so before writing them again it reads
-- this row: its own flush_id means they were, and they are not added twice. One row per shard,
-- written only by that shard (docs/cluster.md rule 1).

CREATE TABLE IF NOT EXISTS counter_flushes (
    shard       VARCHAR(128) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    flush_id    BIGINT UNSIGNED NOT NULL,   -- random, one per attempted batch
    flushed_at  BIGINT UNSIGNED NOT NULL,   -- UNIX time of that commit
    PRIMARY KEY (shard)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
