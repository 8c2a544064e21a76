-- The whole programme in the catalog: what each batch publishes, service programmes
-- (同事同标, 跨省通办, 区域通办, 异地自助办理) with dated memberships, the channels through
-- which each region handles a service, dated and scoped scenarios, and targets (工作台账).
--
-- Before this migration the registry had no write path: the only catalog any database
-- can hold is the bundled sample. The entries are therefore emptied here, and the
-- server (or `jjj-registry load-sample`) loads the current sample into the empty
-- catalog; regions and sectors are kept.

DELETE FROM scenario_standard_items;
DELETE FROM scenario_recognition_items;
DELETE FROM scenarios;
DELETE FROM standard_local_parts;
DELETE FROM standard_items;
DELETE FROM arrangements;
DELETE FROM recognition_local_parts;
DELETE FROM recognition_items;
DELETE FROM batches;

-- A service programme a service item can belong to.
CREATE TABLE programmes (
    code       TEXT    NOT NULL PRIMARY KEY,
    name_zh    TEXT    NOT NULL,
    name_en    TEXT    NOT NULL,
    sort_order INTEGER NOT NULL
);

INSERT INTO programmes (code, name_zh, name_en, sort_order) VALUES
    ('same_standard',        '自贸试验区“同事同标”',   'Same item, same standard (free trade zones)', 1),
    ('cross_province',       '跨省通办',               'Cross-province services',                     2),
    ('regional',             '京津冀区域通办',         'Beijing-Tianjin-Hebei regional services',      3),
    ('offsite_self_service', '异地自助办理',           'Off-site self-service',                        4);

-- What a batch publishes: JSON lists of entry kinds and of programme codes (whose
-- memberships it announces), validated by the domain.
ALTER TABLE batches ADD COLUMN publishes TEXT NOT NULL DEFAULT '[]';
ALTER TABLE batches ADD COLUMN programmes TEXT NOT NULL DEFAULT '[]';

-- A service item's membership of a programme, announced by a batch; `left_on` is the
-- last day of membership (NULL while it lasts).
CREATE TABLE programme_memberships (
    item_code      TEXT NOT NULL REFERENCES standard_items (code),
    programme_code TEXT NOT NULL REFERENCES programmes (code),
    batch_code     TEXT NOT NULL REFERENCES batches (code),
    joined_on      DATE NOT NULL,
    left_on        DATE,
    PRIMARY KEY (item_code, programme_code),
    CHECK (left_on IS NULL OR left_on >= joined_on)
);

-- How a region handles a service (JSON list of channels) and, for self-service
-- terminals, which identity credentials they accept (JSON list).
ALTER TABLE standard_local_parts ADD COLUMN channels TEXT NOT NULL DEFAULT '[]';
ALTER TABLE standard_local_parts ADD COLUMN terminal_identity TEXT NOT NULL DEFAULT '[]';

-- Scenarios become dated, sourced and scoped entries.
DROP TABLE scenario_standard_items;
DROP TABLE scenario_recognition_items;
DROP TABLE scenarios;

CREATE TABLE scenarios (
    code            TEXT      NOT NULL PRIMARY KEY,
    version         BIGINT    NOT NULL,
    name_zh         TEXT      NOT NULL,
    name_en         TEXT      NOT NULL,
    description_zh  TEXT      NOT NULL,
    description_en  TEXT      NOT NULL,
    situation_zh    TEXT      NOT NULL,
    situation_en    TEXT      NOT NULL,
    launched_on     DATE      NOT NULL,
    batch_code      TEXT      NOT NULL REFERENCES batches (code),
    status          TEXT      NOT NULL,
    status_since    DATE,
    lead_region     TEXT      NOT NULL REFERENCES regions (code),
    lead_department TEXT      NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE scenario_regions (
    scenario_code TEXT    NOT NULL REFERENCES scenarios (code),
    region_code   TEXT    NOT NULL REFERENCES regions (code),
    PRIMARY KEY (scenario_code, region_code)
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

-- A target (工作台账) of an annual work plan: a count over the catalog (the metric
-- columns), the value to reach and the deadline, the lead unit (牵头单位) and the
-- cooperating units (配合单位, JSON list, in the order the plan lists them).
CREATE TABLE targets (
    code               TEXT      NOT NULL PRIMARY KEY,
    version            BIGINT    NOT NULL,
    title_zh           TEXT      NOT NULL,
    title_en           TEXT      NOT NULL,
    source_document_no TEXT      NOT NULL,
    source_title_zh    TEXT      NOT NULL,
    clause             TEXT      NOT NULL,
    counts             TEXT      NOT NULL,
    programme_code     TEXT      REFERENCES programmes (code),
    region_code        TEXT      REFERENCES regions (code),
    item_kind          TEXT,
    window_from        DATE,
    window_to          DATE,
    target_value       INTEGER   NOT NULL,
    deadline           DATE      NOT NULL,
    lead_unit          TEXT      NOT NULL,
    cooperating_units  TEXT      NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    CHECK (target_value > 0),
    CHECK (window_from IS NULL OR window_to IS NULL OR window_to >= window_from)
);
