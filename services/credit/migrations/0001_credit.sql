-- Credit service: records (ECL Arts. 33-39), measures (Art. 30), cases, the append-only
-- publication log with its signed checkpoints, and the last published standing per USCC.

CREATE TABLE credit_records (
    record_id           text PRIMARY KEY,
    request_id          text UNIQUE,
    uscc                text NOT NULL,
    enterprise_name     text NOT NULL,
    article             text NOT NULL,
    decision_no         text NOT NULL,
    decision_sha256     text NOT NULL,
    sanctions           text[] NOT NULL,
    fine_fen            bigint,
    confiscated_fen     bigint,
    turnover_fen        bigint,
    serious             boolean NOT NULL,
    application_ban     boolean NOT NULL,
    decision_date       date NOT NULL,
    effective_date      date NOT NULL,
    decided_by          text NOT NULL,
    -- Art. 39 directly responsible persons: stored here, never in the log or on the feed.
    responsible_persons jsonb NOT NULL DEFAULT '[]',
    publicity_months    int NOT NULL,
    publication_deadline date NOT NULL,
    deadline_exact      boolean NOT NULL,
    case_id             text,
    created_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_records_uscc ON credit_records (uscc, decision_date);

-- Publication state of a record (one row once published; repair fills repaired_on).
CREATE TABLE publications (
    record_id          text PRIMARY KEY REFERENCES credit_records,
    uscc               text NOT NULL,
    leaf_index         bigint NOT NULL,
    published_on       date NOT NULL,
    publicity_ends_on  date NOT NULL,
    repaired_on        date,
    repair_decision_no text,
    repair_leaf_index  bigint,
    repair_request_id  text UNIQUE
);

-- Alerts raised for records near their publication deadline (one per record and day).
CREATE TABLE deadline_alerts (
    record_id  text NOT NULL REFERENCES credit_records,
    alerted_on date NOT NULL,
    PRIMARY KEY (record_id, alerted_on)
);

CREATE TABLE measures (
    measure_id text PRIMARY KEY,
    request_id text UNIQUE,
    uscc       text NOT NULL,
    kind       text NOT NULL,
    reference  text NOT NULL,
    issued_on  date NOT NULL,
    decided_by text NOT NULL,
    case_id    text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX measures_uscc ON measures (uscc);

CREATE TABLE cases (
    case_id         text PRIMARY KEY,
    uscc            text NOT NULL,
    source          text NOT NULL,
    source_event_id text NOT NULL,
    opened_on       date NOT NULL,
    summary         text NOT NULL,
    licence_id      text,
    status          text NOT NULL DEFAULT 'open',
    decided_by      text,
    decided_on      date,
    outcome_id      text,
    opened_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source_event_id, source)   -- one case per event and kind: redelivery is a no-op
);
CREATE INDEX cases_open ON cases (opened_at) WHERE status = 'open';

-- The last standing published per enterprise: CreditStandingChanged is written only when
-- the recomputed standing differs from this row (no duplicates), in the same transaction.
CREATE TABLE standings (
    uscc       text PRIMARY KEY,
    level      text NOT NULL,
    active     int NOT NULL,
    ban_until  date,
    record_ids text[] NOT NULL,
    measure_ids text[] NOT NULL,
    as_of      date NOT NULL
);

-- The publication log: canonical entries (stc-credit-log/1) and their RFC 6962 leaf hashes.
-- Append-only: UPDATE, DELETE and TRUNCATE are refused by triggers and revoked.
CREATE TABLE publication_log (
    seq         bigint PRIMARY KEY CHECK (seq >= 0),
    kind        text NOT NULL,
    record_id   text NOT NULL,
    uscc        text NOT NULL,
    canonical   bytea NOT NULL,
    leaf_hash   bytea NOT NULL CHECK (length(leaf_hash) = 32),
    appended_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX publication_log_uscc ON publication_log (uscc, seq);

-- Signed checkpoints (C2SP signed notes), one per tree size.
CREATE TABLE checkpoints (
    tree_size  bigint PRIMARY KEY,
    root_hash  bytea NOT NULL,
    note       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION credit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER publication_log_no_update BEFORE UPDATE OR DELETE ON publication_log
    FOR EACH ROW EXECUTE FUNCTION credit_log_append_only();
CREATE TRIGGER publication_log_no_truncate BEFORE TRUNCATE ON publication_log
    FOR EACH STATEMENT EXECUTE FUNCTION credit_log_append_only();
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION credit_log_append_only();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION credit_log_append_only();

-- Privileges as well (they bind every role that is not a superuser, the owner included).
REVOKE UPDATE, DELETE, TRUNCATE ON publication_log, checkpoints FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON publication_log, checkpoints FROM CURRENT_USER;
