-- Issue 11 items 1, 2 and 4: what the law's procedures add to an application, one row per
-- application that has any (stc_licensing/storage/procedures.py).
-- time_limit_exemption: why the Reg. 17 time limit does not bind the case (Reg. 26 watch
-- list); referral: the newest referral to the State Council (and the Central Military
-- Commission, Art. 24) as JSON; military_approvals: Art. 24 programme and contract approvals;
-- acceptance: who accepted the application or returned it for missing materials.
CREATE TABLE IF NOT EXISTS application_procedures (
    application_id        text PRIMARY KEY REFERENCES applications (id),
    time_limit_exemption  text NOT NULL DEFAULT '',
    referral              jsonb,
    military_approvals    jsonb NOT NULL DEFAULT '[]',
    -- the acceptance step (Reg. 17): formal acceptance, or the last return for materials
    acceptance            jsonb
);

-- Officer discretion (issue 11 item 2): every decision with the recommendation the officer
-- had and the judgement of every finding (accepted or overridden, with the reason).
CREATE TABLE IF NOT EXISTS decision_records (
    id              bigserial PRIMARY KEY,
    application_id  text NOT NULL REFERENCES applications (id),
    decided_at      timestamptz NOT NULL,
    officer         text NOT NULL,
    decision        text NOT NULL,
    recommendation  text NOT NULL,
    assessment_id   text,
    judgements      jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS decision_records_application ON decision_records (application_id);
