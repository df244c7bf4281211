-- The competent authority each case, record and measure belongs to (ECL Arts. 33-39): a
-- case is the authority's of the licence whose end-use check opened it; a record or a
-- measure the authority's whose officer imposed it. Only that authority's officers see and
-- act on it (another authority's answers NOT_FOUND). NULL on rows from before: auditors
-- only (fail closed).
ALTER TABLE cases ADD COLUMN authority text;
ALTER TABLE credit_records ADD COLUMN authority text;
ALTER TABLE measures ADD COLUMN authority text;
CREATE INDEX cases_authority ON cases (authority, opened_at);
