-- One request-id rule (stc_common.idempotency): the fingerprint of the request that first
-- used a request id is kept beside it, so a retry of the same request replays the stored
-- resource and a different request with the same id is refused (ALREADY_EXISTS,
-- REQUEST_ID_REUSED). NULL: a row written before fingerprints were kept (counts as a replay).
ALTER TABLE list_requests ADD COLUMN IF NOT EXISTS request_fingerprint text;
ALTER TABLE country_measures ADD COLUMN IF NOT EXISTS request_fingerprint text;
ALTER TABLE consultations ADD COLUMN IF NOT EXISTS request_fingerprint text;
