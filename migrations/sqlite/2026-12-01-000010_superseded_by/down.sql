ALTER TABLE recognition_items DROP COLUMN superseded_by;
ALTER TABLE standard_items DROP COLUMN superseded_by;
ALTER TABLE scenarios DROP COLUMN superseded_by;
