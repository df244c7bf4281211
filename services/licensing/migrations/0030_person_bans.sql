-- Issue 11, Export Control Law Art. 39: the personal bans in force of the enterprise's
-- directly responsible persons, as credit publishes them on CreditStandingChanged: a JSON
-- list of {"id_number_sha256": hex, "until": "YYYY-MM-DD" or null for life}. Never an ID
-- number: only the SHA-256 of the normalised one.
ALTER TABLE credit_standing ADD COLUMN IF NOT EXISTS person_bans jsonb NOT NULL DEFAULT '[]';
