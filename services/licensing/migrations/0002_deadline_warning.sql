-- DeadlineApproaching is published once per application (like DeadlineBreached).
ALTER TABLE applications ADD COLUMN IF NOT EXISTS warning_reported boolean NOT NULL DEFAULT false;
