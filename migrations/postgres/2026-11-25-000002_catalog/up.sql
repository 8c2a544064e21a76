-- The catalog: recognition items (互认事项) with arrangements and local parts, standard
-- items (同事同标事项) with local implementations, scenarios (互认场景), and the
-- reference data they point to (sectors, published batches).
--
-- Ordered lists that are always read and written whole (aliases, materials, process
-- steps, pilot zones) are JSON text, validated by the domain types; everything that is
-- looked up, joined or constrained is a column.

CREATE TABLE sectors (
    code       TEXT    NOT NULL PRIMARY KEY,
    name_zh    TEXT    NOT NULL,
    name_en    TEXT    NOT NULL,
    sort_order INTEGER NOT NULL
);

INSERT INTO sectors (code, name_zh, name_en, sort_order) VALUES
    ('construction',         '住房城乡建设',     'Housing and construction',              1),
    ('health',               '卫生健康',         'Health',                                2),
    ('transport',            '交通运输',         'Transport',                             3),
    ('human_resources',      '人力资源社会保障', 'Human resources and social security',   4),
    ('market_regulation',    '市场监管',         'Market regulation',                     5),
    ('education',            '教育',             'Education',                             6),
    ('ecology_environment',  '生态环境',         'Ecology and environment',               7),
    ('emergency_management', '应急管理',         'Emergency management',                  8),
    ('agriculture',          '农业农村',         'Agriculture and rural affairs',         9),
    ('culture_tourism',      '文化和旅游',       'Culture and tourism',                  10),
    ('commerce',             '商务',             'Commerce',                             11),
    ('public_security',      '公安',             'Public security',                      12),
    ('natural_resources',    '自然资源',         'Natural resources',                    13),
    ('water',                '水利',             'Water resources',                      14),
    ('finance_tax',          '财政税务',         'Finance and taxation',                 15);

-- A published list (批次) under an official document (文号).
CREATE TABLE batches (
    code         TEXT NOT NULL PRIMARY KEY,
    document_no  TEXT NOT NULL,
    title_zh     TEXT NOT NULL,
    title_en     TEXT NOT NULL,
    published_on DATE NOT NULL
);

CREATE TABLE recognition_items (
    code             TEXT      NOT NULL PRIMARY KEY,
    version          BIGINT    NOT NULL,
    name_zh          TEXT      NOT NULL,
    name_en          TEXT      NOT NULL,
    aliases          TEXT      NOT NULL,
    kind             TEXT      NOT NULL,
    sector_code      TEXT      NOT NULL REFERENCES sectors (code),
    legal_basis      TEXT      NOT NULL,
    status           TEXT      NOT NULL,
    -- The day the current (non-active) status took effect; NULL when active or unknown.
    status_since     DATE,
    batch_code       TEXT      NOT NULL REFERENCES batches (code),
    last_verified_on DATE      NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);

-- One row per participating region: being a participant means having a local part.
CREATE TABLE recognition_local_parts (
    item_code            TEXT      NOT NULL REFERENCES recognition_items (code),
    region_code          TEXT      NOT NULL REFERENCES regions (code),
    local_code           TEXT,
    issuing_department   TEXT,
    accepting_department TEXT,
    contact              TEXT,
    online_url           TEXT,
    notes                TEXT,
    updated_at           TIMESTAMP NOT NULL,
    PRIMARY KEY (item_code, region_code),
    UNIQUE (region_code, local_code)
);

-- Recognition from one issuer region to one accepting region over a valid-time period
-- (both ends inclusive). Both regions must participate in the item.
CREATE TABLE arrangements (
    item_code       TEXT NOT NULL,
    issuer_region   TEXT NOT NULL,
    acceptor_region TEXT NOT NULL,
    effective_from  DATE NOT NULL,
    effective_to    DATE,
    mode            TEXT NOT NULL,
    conditions_zh   TEXT,
    conditions_en   TEXT,
    status          TEXT NOT NULL,
    PRIMARY KEY (item_code, issuer_region, acceptor_region, effective_from),
    FOREIGN KEY (item_code, issuer_region) REFERENCES recognition_local_parts (item_code, region_code),
    FOREIGN KEY (item_code, acceptor_region) REFERENCES recognition_local_parts (item_code, region_code),
    CHECK (issuer_region <> acceptor_region),
    CHECK (effective_to IS NULL OR effective_to >= effective_from)
);

CREATE TABLE standard_items (
    code                      TEXT      NOT NULL PRIMARY KEY,
    version                   BIGINT    NOT NULL,
    national_code             TEXT,
    name_zh                   TEXT      NOT NULL,
    name_en                   TEXT      NOT NULL,
    aliases                   TEXT      NOT NULL,
    item_type                 TEXT      NOT NULL,
    sector_code               TEXT      NOT NULL REFERENCES sectors (code),
    conditions_zh             TEXT      NOT NULL,
    conditions_en             TEXT      NOT NULL,
    materials                 TEXT      NOT NULL,
    time_limit_days           INTEGER   NOT NULL,
    statutory_time_limit_days INTEGER,
    fee_zh                    TEXT      NOT NULL,
    fee_en                    TEXT      NOT NULL,
    legal_basis               TEXT      NOT NULL,
    process_steps             TEXT      NOT NULL,
    result_document_zh        TEXT      NOT NULL,
    result_document_en        TEXT      NOT NULL,
    status                    TEXT      NOT NULL,
    batch_code                TEXT      NOT NULL REFERENCES batches (code),
    last_verified_on          DATE      NOT NULL,
    updated_at                TIMESTAMP NOT NULL,
    CHECK (time_limit_days >= 0)
);

-- A region's implementation; the nullable name/conditions/materials/time-limit columns
-- hold the region's own value only where it departs from the shared standard.
CREATE TABLE standard_local_parts (
    item_code             TEXT      NOT NULL REFERENCES standard_items (code),
    region_code           TEXT      NOT NULL REFERENCES regions (code),
    local_code            TEXT,
    department            TEXT,
    online_url            TEXT,
    service_hall          TEXT,
    pilot_zones           TEXT      NOT NULL,
    implementation_status TEXT      NOT NULL,
    name_zh               TEXT,
    conditions_zh         TEXT,
    materials             TEXT,
    time_limit_days       INTEGER,
    result_recognised     BOOLEAN   NOT NULL,
    updated_at            TIMESTAMP NOT NULL,
    PRIMARY KEY (item_code, region_code)
);

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
