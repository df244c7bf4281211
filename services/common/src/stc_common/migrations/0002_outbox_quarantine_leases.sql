-- Quarantined outbox rows and periodic-job leases (issue 10 item 2, issue 14 item 4).

-- A row the broker refuses for good (record too large, invalid or unknown topic …) is kept,
-- marked with the reason and time, and skipped, so the rows after it are published.
-- Release one after fixing the cause: UPDATE outbox SET quarantined_at = NULL WHERE id = …
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS quarantined_at timestamptz;
ALTER TABLE outbox ADD COLUMN IF NOT EXISTS quarantine_reason text;
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id)
    WHERE sent_at IS NULL AND quarantined_at IS NULL;

-- One holder per periodic job across the replicas of a service: the holder renews its lease
-- every round; another replica takes over only after the lease expired.
CREATE TABLE IF NOT EXISTS periodic_leases (
    job        text        PRIMARY KEY,
    holder     text        NOT NULL,
    expires_at timestamptz NOT NULL
);
