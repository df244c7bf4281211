-- Transactional outbox and consumer inbox, in every service's own database.

CREATE TABLE IF NOT EXISTS outbox (
    id          bigserial PRIMARY KEY,
    event_id    uuid        NOT NULL UNIQUE,
    topic       text        NOT NULL,
    key         bytea,
    ce_type     text        NOT NULL,
    headers     jsonb       NOT NULL,          -- [[name, base64 value], ...]
    payload     bytea       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    sent_at     timestamptz,
    sent_partition int,
    sent_offset    bigint
);
CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (id) WHERE sent_at IS NULL;

-- Highest offset the relay has confirmed per partition: after a crash between the broker's
-- acknowledgement and the UPDATE that marks rows sent, the relay reads the topic from here
-- to find events that are already published, so nothing is published twice.
CREATE TABLE IF NOT EXISTS outbox_positions (
    topic       text   NOT NULL,
    partition   int    NOT NULL,
    last_offset bigint NOT NULL,
    PRIMARY KEY (topic, partition)
);

CREATE TABLE IF NOT EXISTS inbox (
    consumer     text        NOT NULL,
    event_id     text        NOT NULL,
    ce_type      text        NOT NULL,
    topic        text        NOT NULL,
    partition    int         NOT NULL,
    "offset"     bigint      NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- Wake the relay as soon as a transaction writes events (it also polls, so this is only latency).
CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('stc_outbox', '');
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
