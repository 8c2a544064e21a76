DELETE FROM scenario_recognition_items;
DELETE FROM arrangements;
DELETE FROM recognition_local_parts;
DELETE FROM recognition_items WHERE sector_code = 'public_resource_trading';
DELETE FROM sectors WHERE code = 'public_resource_trading';
ALTER TABLE recognition_local_parts DROP COLUMN verification_platforms;
ALTER TABLE recognition_local_parts DROP COLUMN verification_url;
ALTER TABLE recognition_local_parts DROP COLUMN verification_method;
