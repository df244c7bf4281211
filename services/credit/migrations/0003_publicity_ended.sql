-- The end of a record's publicity, once announced (PublicityEnded): the last day shown and
-- why (period_elapsed | credit_repair). NULL until the end has been announced.
ALTER TABLE publications ADD COLUMN ended_on date;
ALTER TABLE publications ADD COLUMN end_reason text;
CREATE INDEX publications_not_ended ON publications (publicity_ends_on) WHERE ended_on IS NULL;
