-- Issue 11 item 7: the Administrative Penalty Law ground recorded on the decision: a reduced
-- penalty (APL Art. 32) on its credit record; a violation not penalised (APL Arts. 33, 36) on
-- its dismissed case. NULL: none.
ALTER TABLE credit_records ADD COLUMN IF NOT EXISTS penalty_law_ground text;
ALTER TABLE cases ADD COLUMN IF NOT EXISTS penalty_law_ground text;
