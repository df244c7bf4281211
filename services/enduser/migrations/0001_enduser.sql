-- End-user service: the licence projection, change reports, end-use checks, request ids.

-- Local projection of licensing's licence events (stc.licensing.licence.v1); never written
-- by a use case. `parties` holds the stc.common.v1.Party messages as protobuf JSON.
CREATE TABLE licences (
    licence_id     text PRIMARY KEY,
    exporter_uscc  text        NOT NULL,
    authority      text        NOT NULL,
    destination    text        NOT NULL,
    parties        jsonb       NOT NULL DEFAULT '[]',
    item_codes     text[]      NOT NULL DEFAULT '{}',
    status         text        NOT NULL DEFAULT 'ACTIVE'
                   CHECK (status IN ('ACTIVE', 'SUSPENDED', 'REVOKED', 'EXPIRED')),
    amended_elements text[]    NOT NULL DEFAULT '{}',
    issued_event_id text       NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX licences_exporter ON licences (exporter_uscc);

-- Gapless reference numbers per year (CR-2026-000001): the row lock serialises writers and
-- a rolled-back report gives its number back.
CREATE TABLE report_sequences (
    year int PRIMARY KEY,
    last int NOT NULL
);

CREATE TABLE change_reports (
    report_id        uuid PRIMARY KEY,
    reference        text        NOT NULL UNIQUE,
    licence_id       text        NOT NULL REFERENCES licences (licence_id),
    exporter_uscc    text        NOT NULL,
    authority        text        NOT NULL,
    reporter_role    text        NOT NULL,
    reporter_id      text        NOT NULL,
    kind             text        NOT NULL,
    details          text        NOT NULL,
    new_end_user     jsonb,                 -- stc.common.v1.Party as protobuf JSON
    new_end_use      text,
    documents        jsonb       NOT NULL DEFAULT '[]',  -- DocumentReference as protobuf JSON
    subject_party_id text,
    status           text        NOT NULL CHECK (status IN ('OPEN', 'RESOLVED')),
    reported_at      timestamptz NOT NULL,
    recommended      text        NOT NULL,
    basis            text[]      NOT NULL DEFAULT '{}',
    screen_new_end_user boolean  NOT NULL DEFAULT false,
    resolution       text,
    resolution_reasons text[]    NOT NULL DEFAULT '{}',
    elements         text[]      NOT NULL DEFAULT '{}',
    resolved_by      text,
    resolved_by_authority text,
    resolved_at      timestamptz
);
CREATE INDEX change_reports_queue ON change_reports (authority, reported_at, report_id);
CREATE INDEX change_reports_exporter ON change_reports (exporter_uscc, reported_at, report_id);
CREATE INDEX change_reports_licence ON change_reports (licence_id);

-- ReportChange idempotency: one (caller, request_id) names one report.
CREATE TABLE report_requests (
    caller        text        NOT NULL,
    request_id    text        NOT NULL,
    request_hash  text        NOT NULL,
    report_id     uuid        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (caller, request_id)
);

CREATE TABLE end_use_checks (
    check_id          uuid PRIMARY KEY,
    licence_id        text        NOT NULL REFERENCES licences (licence_id),
    exporter_uscc     text        NOT NULL,
    authority         text        NOT NULL,
    party             jsonb       NOT NULL,    -- stc.common.v1.Party as protobuf JSON
    deadline          timestamptz NOT NULL,
    scheduled_by      text        NOT NULL,
    scheduled_at      timestamptz NOT NULL,
    status            text        NOT NULL
                      CHECK (status IN ('SCHEDULED', 'VERIFIED', 'NOT_COOPERATING', 'DIVERTED')),
    outcome_details   text        NOT NULL DEFAULT '',
    recorded_by       text,
    recorded_by_authority text,
    recorded_at       timestamptz,
    overdue_confirmed boolean     NOT NULL DEFAULT false,
    failure_to_report boolean     NOT NULL DEFAULT false,
    overdue_detected_at timestamptz
);
CREATE INDEX end_use_checks_queue ON end_use_checks (authority, deadline, check_id);
CREATE INDEX end_use_checks_due ON end_use_checks (deadline) WHERE status = 'SCHEDULED';
