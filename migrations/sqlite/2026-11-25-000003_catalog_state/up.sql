-- One row: the catalog generation, bumped by every transaction that changes the
-- catalog. Instances poll it to know when to rebuild their read model; the change
-- feed's sequence will supersede it.
CREATE TABLE catalog_state (
    id         INTEGER   NOT NULL PRIMARY KEY,
    generation BIGINT    NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (id = 1)
);

INSERT INTO catalog_state (id, generation, updated_at) VALUES (1, 0, '2026-11-25 00:00:00');
