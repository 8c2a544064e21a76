-- A retired entry may name the entry that replaces it (取代): a link readers follow from
-- a retired item to the current one.
ALTER TABLE recognition_items ADD COLUMN superseded_by TEXT NULL;
ALTER TABLE standard_items ADD COLUMN superseded_by TEXT NULL;
ALTER TABLE scenarios ADD COLUMN superseded_by TEXT NULL;
