-- Replaying an old assessment: the snapshot of what it read (application, the exporter's
-- record - ICP, audits, export history, qualification - screening, credit standing, day) as
-- canonical JSON, and every policy version used, kept by its content hash.
ALTER TABLE assessments ADD COLUMN IF NOT EXISTS inputs jsonb;

CREATE TABLE IF NOT EXISTS policy_versions (
    hash        text PRIMARY KEY,        -- SHA-256 of the policy's canonical JSON
    version     text NOT NULL,
    content     jsonb NOT NULL,
    stored_at   timestamptz NOT NULL DEFAULT now()
);
