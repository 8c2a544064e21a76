-- How the accepting side checks a credential (e-licence sharing interface, online
-- lookup, paper original, login on the accepting platforms), per recognition item and
-- region; and public resource trading as a sector (CA digital certificates belong there).
--
-- As in 0004, there is still no write path: the entries are emptied and the current
-- sample is loaded into the empty catalog at start.

DELETE FROM scenario_standard_items;
DELETE FROM scenario_recognition_items;
DELETE FROM scenario_regions;
DELETE FROM scenarios;
DELETE FROM programme_memberships;
DELETE FROM standard_local_parts;
DELETE FROM standard_items;
DELETE FROM arrangements;
DELETE FROM recognition_local_parts;
DELETE FROM recognition_items;
DELETE FROM targets;
DELETE FROM batches;

ALTER TABLE recognition_local_parts ADD COLUMN verification_method TEXT;
ALTER TABLE recognition_local_parts ADD COLUMN verification_url TEXT;
ALTER TABLE recognition_local_parts ADD COLUMN verification_platforms TEXT NOT NULL DEFAULT '[]';

INSERT INTO sectors (code, name_zh, name_en, sort_order) VALUES
    ('public_resource_trading', '公共资源交易', 'Public resource trading', 16);
