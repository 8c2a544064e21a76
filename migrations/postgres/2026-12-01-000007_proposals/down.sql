DROP TABLE acceptance_suspensions;
DROP TABLE proposal_entries;
DROP TABLE proposal_votes;
DROP TABLE proposals;
