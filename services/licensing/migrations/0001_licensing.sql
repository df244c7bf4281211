-- Licensing service tables: operators, applications (content as jsonb of the proto's JSON
-- form), their history (per-application sequence for WatchApplication), assessments,
-- licences and their usage, and the local projection of the credit standing.

CREATE TABLE operators (
    uscc            text PRIMARY KEY,
    name_zh         text NOT NULL,
    name_en         text NOT NULL DEFAULT '',
    address         text NOT NULL DEFAULT '',
    qualification   jsonb,               -- Art. 23 military export qualification
    icp             jsonb NOT NULL DEFAULT '[]',
    icp_audits      jsonb NOT NULL DEFAULT '[]',
    registered_at   timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Reference numbers like MOFCOM-2026-000123: one counter per authority and year.
CREATE TABLE reference_counters (
    authority   text NOT NULL,
    year        int  NOT NULL,
    last_value  bigint NOT NULL,
    PRIMARY KEY (authority, year)
);

CREATE TABLE applications (
    id                   text PRIMARY KEY,
    reference            text NOT NULL UNIQUE,
    exporter_uscc        text NOT NULL REFERENCES operators (uscc),
    request_id           text NOT NULL,
    authority            text NOT NULL,
    state                text NOT NULL,
    content              jsonb NOT NULL,
    submitted_at         timestamptz NOT NULL,
    accepted_on          date NOT NULL,
    -- Reg. 17 clock pauses: [{"start": "YYYY-MM-DD", "end": "YYYY-MM-DD"|null, "kind": ...}]
    pauses               jsonb NOT NULL DEFAULT '[]',
    deadline             date,               -- NULL while the clock is paused
    deadline_exact       boolean NOT NULL DEFAULT true,
    flags                text[] NOT NULL DEFAULT '{}',
    licence_id           text,
    reconsideration_used boolean NOT NULL DEFAULT false,
    breach_reported      boolean NOT NULL DEFAULT false,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    -- idempotent submission: a retry with the same request_id is the same application
    UNIQUE (exporter_uscc, request_id)
);
CREATE INDEX applications_queue ON applications (authority, state, deadline);
CREATE INDEX applications_exporter ON applications (exporter_uscc, submitted_at);

CREATE TABLE application_history (
    application_id  text NOT NULL REFERENCES applications (id),
    sequence        bigint NOT NULL,
    kind            text NOT NULL,       -- STATE_CHANGED, ASSESSED, FLAGGED, DEADLINE_BREACHED
    state           text NOT NULL,
    note            text NOT NULL DEFAULT '',
    assessment_id   text,
    snapshot        bytea NOT NULL,      -- serialized stc.licensing.v1.Application
    recorded_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (application_id, sequence)
);

CREATE TABLE assessments (
    id              text PRIMARY KEY,
    application_id  text NOT NULL REFERENCES applications (id),
    screening_id    text NOT NULL,
    recommendation  text NOT NULL,
    policy_version  text NOT NULL,
    policy_hash     text NOT NULL,
    inputs_hash     text NOT NULL,
    assessed_on     date NOT NULL,
    assessed_at     timestamptz NOT NULL DEFAULT now(),
    body            bytea NOT NULL       -- serialized stc.licensing.v1.Assessment
);
CREATE INDEX assessments_application ON assessments (application_id, assessed_at);

CREATE TABLE licences (
    id              text PRIMARY KEY,
    application_id  text NOT NULL UNIQUE REFERENCES applications (id),
    holder_uscc     text NOT NULL,
    authority       text NOT NULL,
    licence_type    text NOT NULL,
    destination     text NOT NULL,
    end_user_keys   text[] NOT NULL,
    items           jsonb NOT NULL,
    issued_on       date NOT NULL,
    valid_from      date NOT NULL,
    valid_until     date NOT NULL,
    conditions      text[] NOT NULL DEFAULT '{}',
    state           text NOT NULL,
    state_reason    text NOT NULL DEFAULT '',
    holds           text[] NOT NULL DEFAULT '{}',
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX licences_holder ON licences (holder_uscc);
CREATE INDEX licences_expiry ON licences (state, valid_until);

CREATE TABLE licence_usage (
    licence_id           text NOT NULL REFERENCES licences (id),
    export_id            text NOT NULL,
    exported_on          date NOT NULL,
    lines                jsonb NOT NULL,
    customs_declaration  text NOT NULL DEFAULT '',
    recorded_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (licence_id, export_id)
);

-- Local projection of stc.credit.v1.CreditStandingChanged (factor 7, Art. 39 ban).
CREATE TABLE credit_standing (
    uscc            text PRIMARY KEY,
    level           text NOT NULL,
    active_records  int NOT NULL DEFAULT 0,
    ban_until       date,
    record_ids      text[] NOT NULL DEFAULT '{}',
    as_of           date,
    updated_at      timestamptz NOT NULL DEFAULT now()
);
