-- A publication hold set by an officer (e.g. redaction of trade secrets and personal
-- information before the decision is made public); NULL when publication is not held.
ALTER TABLE credit_records ADD COLUMN publication_hold text;

-- PublicationDeadlineAtRisk is raised once per record (no longer once per record and day).
DELETE FROM deadline_alerts a USING deadline_alerts b
 WHERE a.record_id = b.record_id AND a.alerted_on > b.alerted_on;
CREATE UNIQUE INDEX deadline_alerts_once ON deadline_alerts (record_id);
