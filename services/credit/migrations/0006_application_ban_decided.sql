-- Art. 39: the authority MAY refuse applications for up to five years; the ban is the
-- officer's decision in the case, with its length. NULL on rows recorded before this
-- migration, which carried the automatic five-year ban (application_ban = true).
ALTER TABLE credit_records ADD COLUMN IF NOT EXISTS application_ban_months int
    CHECK (application_ban_months BETWEEN 0 AND 60);
