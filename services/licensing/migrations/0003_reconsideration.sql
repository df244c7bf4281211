-- Art. 41 reconsideration under the Administrative Reconsideration Law: its own dates
-- (requested within 60 days of the refusal; decided within 60 days of acceptance), not the
-- Reg. 17 clock of the application. decided_on: the day of the last decision (refusal).
ALTER TABLE applications ADD COLUMN IF NOT EXISTS decided_on date;
ALTER TABLE applications ADD COLUMN IF NOT EXISTS reconsideration_requested_on date;
ALTER TABLE applications ADD COLUMN IF NOT EXISTS reconsideration_due date;
ALTER TABLE applications ADD COLUMN IF NOT EXISTS reconsideration_overdue_reported boolean
    NOT NULL DEFAULT false;
