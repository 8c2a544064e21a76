DROP TABLE audit_head;
DROP TABLE audit_log;
ALTER TABLE standard_local_parts DROP COLUMN version;
ALTER TABLE recognition_local_parts DROP COLUMN version;
