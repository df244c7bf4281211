-- Issue 14: the admission limit counts the applications awaiting assessment (SUBMITTED,
-- SCREENING) before every submission; a partial index keeps that count to the few rows in
-- flight however many applications the table holds.
CREATE INDEX IF NOT EXISTS applications_awaiting_assessment
    ON applications (state) WHERE state IN ('SUBMITTED', 'SCREENING');
