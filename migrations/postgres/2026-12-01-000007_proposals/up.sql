-- Shared changes go through proposals (变更提案) that every participating region
-- approves; a region's approver may suspend acceptance in its own region at once.
--
-- A proposal keeps its planned changes (each with the shared content it was based on
-- and the content it asks for) as JSON: they are read and applied whole, never
-- queried field by field. proposal_entries indexes which entries a proposal touches,
-- so that applying one proposal can mark the others it overtakes as conflicted.

CREATE TABLE proposals (
    id                BIGINT    NOT NULL PRIMARY KEY,
    version           BIGINT    NOT NULL,
    state             TEXT      NOT NULL,
    title             TEXT      NOT NULL,
    rationale         TEXT      NOT NULL,
    proposer_issuer   TEXT      NOT NULL,
    proposer_subject  TEXT      NOT NULL,
    proposer_region   TEXT      NOT NULL REFERENCES regions (code),
    participants      TEXT      NOT NULL,
    batch             TEXT,
    changes           TEXT      NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    decided_at        TIMESTAMP,
    outcome           TEXT      NOT NULL
);
CREATE INDEX proposals_state ON proposals (state, id);

CREATE TABLE proposal_votes (
    proposal_id  BIGINT    NOT NULL REFERENCES proposals (id),
    region_code  TEXT      NOT NULL REFERENCES regions (code),
    ballot       TEXT      NOT NULL,
    voter        TEXT      NOT NULL,
    comment      TEXT      NOT NULL,
    cast_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (proposal_id, region_code)
);

CREATE TABLE proposal_entries (
    proposal_id  BIGINT NOT NULL REFERENCES proposals (id),
    entry_kind   TEXT   NOT NULL,
    entry_code   TEXT   NOT NULL,
    PRIMARY KEY (proposal_id, entry_kind, entry_code)
);
CREATE INDEX proposal_entries_entry ON proposal_entries (entry_kind, entry_code);

-- A region's suspension of its own acceptance of an item (from every issuing region,
-- or from one), effective from a day until it is lifted.
CREATE TABLE acceptance_suspensions (
    id             BIGINT    NOT NULL PRIMARY KEY,
    item_code      TEXT      NOT NULL REFERENCES recognition_items (code),
    used_in        TEXT      NOT NULL REFERENCES regions (code),
    issued_in      TEXT      REFERENCES regions (code),
    reason         TEXT      NOT NULL,
    effective_from DATE      NOT NULL,
    suspended_by   TEXT      NOT NULL,
    recorded_at    TIMESTAMP NOT NULL,
    lifted_on      DATE,
    lift_reason    TEXT,
    lifted_by      TEXT
);
CREATE INDEX acceptance_suspensions_item ON acceptance_suspensions (item_code);
