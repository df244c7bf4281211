-- One request-id rule (stc_common.idempotency): the fingerprint of the request that used a
-- request_id is kept beside it, so a retry of the same request is answered with the stored
-- resource and a different request under the same id is refused (ALREADY_EXISTS,
-- REQUEST_ID_REUSED). NULL on rows written before this migration: those replay.
ALTER TABLE credit_records ADD COLUMN IF NOT EXISTS request_fingerprint text;
ALTER TABLE measures ADD COLUMN IF NOT EXISTS request_fingerprint text;
ALTER TABLE publications ADD COLUMN IF NOT EXISTS repair_request_fingerprint text;
