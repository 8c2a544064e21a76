-- The change feed (变更流): one row per change to the catalog or to a proposal's state,
-- numbered without gaps in commit order. Every writing transaction already holds the
-- catalog_state row lock, so it takes its numbers from catalog_state.generation, which
-- from now on is the feed's head (the last sequence number handed out).
CREATE TABLE changes (
    seq          BIGINT    NOT NULL PRIMARY KEY,
    recorded_at  TIMESTAMP NOT NULL,
    change_kind  TEXT      NOT NULL,
    entry_kind   TEXT      NOT NULL,
    entry_code   TEXT      NOT NULL,
    region_code  TEXT      NULL,
    version      BIGINT    NOT NULL,
    proposal_id  BIGINT    NULL,
    state        TEXT      NULL
);

CREATE INDEX changes_by_entry ON changes (entry_kind, entry_code, seq);

-- A database that already holds entries starts its feed with one `entry_created` per
-- entry at its current version, so that a follower starting from 0 sees everything.
INSERT INTO changes (seq, recorded_at, change_kind, entry_kind, entry_code, version)
SELECT row_number() OVER (ORDER BY ord, code), recorded_at, 'entry_created', entry_kind, code, version
FROM (
    SELECT 1 AS ord, 'batch' AS entry_kind, code, 1 AS version, (now() AT TIME ZONE 'UTC') AS recorded_at FROM batches
    UNION ALL SELECT 2, 'recognition_item', code, version, updated_at FROM recognition_items
    UNION ALL SELECT 3, 'standard_item', code, version, updated_at FROM standard_items
    UNION ALL SELECT 4, 'scenario', code, version, updated_at FROM scenarios
    UNION ALL SELECT 5, 'target', code, version, updated_at FROM targets
) AS existing;

UPDATE catalog_state SET generation = (SELECT COUNT(*) FROM changes);
