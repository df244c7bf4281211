-- Issue 14: a version of the temporary controls register (ECL Art. 9(2)), bumped in the same
-- transaction as every change to temporary_controls, so that a replica may keep the register
-- in memory and check it against this row in a statement it makes anyway (storage/sql.py).
-- token tells databases apart (a process that talks to several, as the tests do).
CREATE TABLE IF NOT EXISTS temporary_controls_version (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    token    uuid NOT NULL DEFAULT gen_random_uuid(),
    version  bigint NOT NULL DEFAULT 0
);
INSERT INTO temporary_controls_version (one) VALUES (true) ON CONFLICT DO NOTHING;

CREATE OR REPLACE FUNCTION temporary_controls_bump_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE temporary_controls_version SET version = version + 1;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS temporary_controls_versioned ON temporary_controls;
CREATE TRIGGER temporary_controls_versioned
    AFTER INSERT OR UPDATE OR DELETE ON temporary_controls
    FOR EACH STATEMENT EXECUTE FUNCTION temporary_controls_bump_version();
DROP TRIGGER IF EXISTS temporary_controls_versioned_truncate ON temporary_controls;
CREATE TRIGGER temporary_controls_versioned_truncate
    AFTER TRUNCATE ON temporary_controls
    FOR EACH STATEMENT EXECUTE FUNCTION temporary_controls_bump_version();
