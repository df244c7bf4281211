-- Issue 11 item 5: the register of temporary control measures (ECL Art. 9(2)): at most two
-- years each, then cancelled, extended or listed. items: [{control_code, hs_code,
-- description}]. alert_sent: the expiry alert went out for the current end.
CREATE TABLE IF NOT EXISTS temporary_controls (
    measure_id     text PRIMARY KEY,
    request_id     text UNIQUE,
    announcement   text NOT NULL,
    items          jsonb NOT NULL,
    start_on       date NOT NULL,
    end_on         date NOT NULL,
    status         text NOT NULL DEFAULT 'ACTIVE',
    ended_on       date,
    alert_sent     boolean NOT NULL DEFAULT false,
    note           text NOT NULL DEFAULT '',
    registered_by  text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    CHECK (end_on >= start_on)
);
-- which measures a licence rests on (its validity is capped at their end)
CREATE TABLE IF NOT EXISTS licence_temporary_controls (
    licence_id  text NOT NULL,
    measure_id  text NOT NULL REFERENCES temporary_controls (measure_id),
    PRIMARY KEY (licence_id, measure_id)
);
