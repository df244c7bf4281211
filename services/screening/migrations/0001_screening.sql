-- The screening service's own tables: list entries and their import runs, screening results,
-- consultations (Art. 12(4)) and the projection of parties to re-screen on a list change.

CREATE TABLE IF NOT EXISTS list_entries (
    entry_id      text PRIMARY KEY,
    list_kind     text        NOT NULL,
    source        text        NOT NULL DEFAULT '',
    primary_name  text        NOT NULL,
    content_hash  text        NOT NULL,
    -- every field of the domain ListEntry, as the importer or officer gave it
    raw           jsonb       NOT NULL,
    origin        text        NOT NULL,          -- 'import' or 'officer' or 'enduser'
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS list_entries_kind ON list_entries (list_kind, entry_id);

-- One row per import of one list file: what it changed.
CREATE TABLE IF NOT EXISTS list_versions (
    id            bigserial PRIMARY KEY,
    list_name     text        NOT NULL,        -- ofac, un, bis, prc
    source_path   text        NOT NULL,
    file_sha256   text        NOT NULL,
    entries       int         NOT NULL,
    added         int         NOT NULL,
    updated       int         NOT NULL,
    removed       int         NOT NULL,
    seconds       double precision NOT NULL,
    imported_at   timestamptz NOT NULL DEFAULT now()
);

-- Officer requests made safe to retry.
CREATE TABLE IF NOT EXISTS list_requests (
    request_id    text PRIMARY KEY,
    entry_id      text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS screening_results (
    screening_id  uuid PRIMARY KEY,
    subject_kind  text        NOT NULL,
    subject_id    text        NOT NULL,
    exporter_uscc text        NOT NULL DEFAULT '',
    trigger_event_id text     NOT NULL DEFAULT '',
    lists_version text        NOT NULL DEFAULT '',
    result        bytea       NOT NULL,          -- the ScreeningCompleted message
    completed_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS screening_results_subject ON screening_results (subject_id);

-- Parties of pending applications and active licences (from licensing's events).
CREATE TABLE IF NOT EXISTS subjects (
    subject_kind  text        NOT NULL,          -- APPLICATION or LICENCE
    subject_id    text        NOT NULL,
    exporter_uscc text        NOT NULL DEFAULT '',
    parties       jsonb       NOT NULL,          -- [{party_id, role, name, aliases, ...}]
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject_kind, subject_id)
);

-- Hits already reported for a subject's party, so re-screening only publishes NEW hits.
CREATE TABLE IF NOT EXISTS subject_hits (
    subject_kind  text        NOT NULL,
    subject_id    text        NOT NULL,
    party_id      text        NOT NULL,
    entry_id      text        NOT NULL,
    content_hash  text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subject_kind, subject_id, party_id, entry_id)
);

CREATE TABLE IF NOT EXISTS consultations (
    consultation_id uuid PRIMARY KEY,
    request_id    text,
    exporter_uscc text        NOT NULL,
    authority     text        NOT NULL,
    state         text        NOT NULL,
    question      text        NOT NULL,
    item_description text     NOT NULL DEFAULT '',
    hs_code       text        NOT NULL DEFAULT '',
    parameters    jsonb       NOT NULL DEFAULT '{}',
    controlled    boolean,
    control_code  text        NOT NULL DEFAULT '',
    answer        text        NOT NULL DEFAULT '',
    officer       text        NOT NULL DEFAULT '',
    submitted_at  timestamptz NOT NULL DEFAULT now(),
    answered_at   timestamptz,
    UNIQUE (exporter_uscc, request_id)
);
CREATE INDEX IF NOT EXISTS consultations_authority ON consultations (authority, submitted_at);
