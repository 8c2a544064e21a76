-- Regions (辖区) are data, not an enum: another cluster or a sub-area is a new row.
CREATE TABLE regions (
    code          TEXT    NOT NULL PRIMARY KEY,
    gb_code       TEXT    NOT NULL UNIQUE,
    name_zh       TEXT    NOT NULL,
    name_en       TEXT    NOT NULL,
    short_name_zh TEXT    NOT NULL,
    sort_order    INTEGER NOT NULL
);

INSERT INTO regions (code, gb_code, name_zh, name_en, short_name_zh, sort_order) VALUES
    ('BJ', '110000', '北京市', 'Beijing',  '京', 1),
    ('TJ', '120000', '天津市', 'Tianjin',  '津', 2),
    ('HE', '130000', '河北省', 'Hebei',    '冀', 3);
