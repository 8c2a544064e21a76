-- Region-scoped editing: each local part carries its own version (the If-Match
-- validator of a region's side, so two regions editing their own sides of one entry
-- never collide), and every write attempt lands in a hash-chained, append-only audit
-- log whose head (last sequence number and hash) is kept beside it, so that deleting
-- the newest records is detected as surely as editing an old one.

ALTER TABLE recognition_local_parts ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE standard_local_parts ADD COLUMN version BIGINT NOT NULL DEFAULT 1;

CREATE TABLE audit_log (
    seq           BIGINT    NOT NULL PRIMARY KEY,
    recorded_at   TIMESTAMP NOT NULL,
    request_id    TEXT      NOT NULL,
    issuer        TEXT,
    subject       TEXT,
    region_code   TEXT,
    roles         TEXT      NOT NULL,
    action        TEXT      NOT NULL,
    entry_kind    TEXT,
    entry_code    TEXT,
    target_region TEXT,
    outcome       TEXT      NOT NULL,
    status        INTEGER   NOT NULL,
    reason        TEXT      NOT NULL,
    before_state  TEXT,
    after_state   TEXT,
    prev_hash     TEXT      NOT NULL,
    hash          TEXT      NOT NULL
);
CREATE INDEX audit_log_region ON audit_log (region_code, seq);

CREATE TABLE audit_head (
    id   INTEGER NOT NULL PRIMARY KEY,
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
