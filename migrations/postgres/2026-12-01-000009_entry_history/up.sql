-- Entry history (版本历史): every version of every catalog entry as it was, written in the
-- transaction that made it, with the change of the feed that made it. Nothing here is
-- ever updated or deleted. Reads "as known at" a time rebuild the catalog from the
-- versions recorded up to then.
CREATE TABLE entry_versions (
    entry_kind   TEXT      NOT NULL,
    entry_code   TEXT      NOT NULL,
    version      BIGINT    NOT NULL,
    seq          BIGINT    NOT NULL,
    recorded_at  TIMESTAMP NOT NULL,
    change_kind  TEXT      NOT NULL,
    region_code  TEXT      NULL,
    proposal_id  BIGINT    NULL,
    actor        TEXT      NULL,
    content      TEXT      NOT NULL,
    PRIMARY KEY (entry_kind, entry_code, version)
);

-- "As known at": the versions recorded up to a time, in feed order.
CREATE INDEX entry_versions_by_seq ON entry_versions (recorded_at, seq);

-- Entries of a database that held them before history existed get their current version
-- at start-up (the content is the entry as the registry renders it, which SQL cannot).
