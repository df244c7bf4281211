-- Dated country measures entered by officers at run time (no measure is shipped as data):
-- screening applies the ones in force on the date of the application or transaction.

CREATE TABLE IF NOT EXISTS country_measures (
    measure_id      text PRIMARY KEY,
    request_id      text UNIQUE,
    country         text        NOT NULL,
    title_en        text        NOT NULL DEFAULT '',
    title_zh        text        NOT NULL DEFAULT '',
    basis           text        NOT NULL DEFAULT '',
    announcement    text        NOT NULL,
    scope           text        NOT NULL,      -- all, military_end_user, military_end_use
    item_codes      text[]      NOT NULL DEFAULT '{}',
    effective_from  date        NOT NULL,
    suspended_from  date,
    suspended_until date,
    expires_on      date,
    officer         text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS country_measures_country ON country_measures (country, measure_id);
