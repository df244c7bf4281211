-- stc_common.idempotency: the fingerprint of the submission kept with its request_id, so a
-- retry of the same request replays and a different request with the same id is refused
-- (ALREADY_EXISTS, REQUEST_ID_REUSED). NULL: a row from before this migration (replays).
ALTER TABLE applications ADD COLUMN IF NOT EXISTS request_fingerprint text;
