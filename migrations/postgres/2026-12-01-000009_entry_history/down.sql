DROP TABLE entry_versions;
