-- Issue 11 item 3: the PRC holiday calendar as data. One row per year: the schedule the State
-- Council announced (holiday periods, adjusted working days, the announcement), entered by an
-- officer or from the operator's data file; it takes precedence over the chinese_calendar
-- package for that year (stc_common.workdays.use_schedules). A correction replaces the row;
-- the application history and the DeadlineRecomputed events keep what moved.
CREATE TABLE IF NOT EXISTS holiday_schedules (
    year          integer PRIMARY KEY,
    announcement  text NOT NULL,
    body          jsonb NOT NULL,            -- domain/holiday_calendar.to_plain
    entered_by    text NOT NULL,             -- 'MOFCOM/officer-1' or 'data-file:<path>'
    entered_at    timestamptz NOT NULL DEFAULT now(),
    request_id    text
);
CREATE UNIQUE INDEX IF NOT EXISTS holiday_schedules_request
    ON holiday_schedules (request_id) WHERE request_id IS NOT NULL;
