-- Back to the 0.2.0 shape; entries are emptied (the sample is reloaded), as on the way up.
DROP TABLE targets;
DROP TABLE scenario_standard_items;
DROP TABLE scenario_recognition_items;
DROP TABLE scenario_regions;
DROP TABLE scenarios;
DROP TABLE programme_memberships;
DELETE FROM standard_local_parts;
DELETE FROM standard_items;
DELETE FROM arrangements;
DELETE FROM recognition_local_parts;
DELETE FROM recognition_items;
DELETE FROM batches;
ALTER TABLE standard_local_parts DROP COLUMN terminal_identity;
ALTER TABLE standard_local_parts DROP COLUMN channels;
ALTER TABLE batches DROP COLUMN programmes;
ALTER TABLE batches DROP COLUMN publishes;
DROP TABLE programmes;

CREATE TABLE scenarios (
    code           TEXT      NOT NULL PRIMARY KEY,
    version        BIGINT    NOT NULL,
    name_zh        TEXT      NOT NULL,
    name_en        TEXT      NOT NULL,
    description_zh TEXT      NOT NULL,
    description_en TEXT      NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

CREATE TABLE scenario_recognition_items (
    scenario_code TEXT    NOT NULL REFERENCES scenarios (code),
    item_code     TEXT    NOT NULL REFERENCES recognition_items (code),
    position      INTEGER NOT NULL,
    PRIMARY KEY (scenario_code, item_code)
);

CREATE TABLE scenario_standard_items (
    scenario_code TEXT    NOT NULL REFERENCES scenarios (code),
    item_code     TEXT    NOT NULL REFERENCES standard_items (code),
    position      INTEGER NOT NULL,
    PRIMARY KEY (scenario_code, item_code)
);
