-- Heads of the complete subtrees of the publication log's Merkle tree (RFC 6962), level >= 1:
-- (level, idx) is the head of entries [idx * 2^level, (idx + 1) * 2^level); level 0 is
-- publication_log.leaf_hash. Written by each append (at most log2 n rows), read by tree
-- heads and proofs (O(log n) rows), so no request reads or rehashes every leaf.
CREATE TABLE merkle_nodes (
    level smallint NOT NULL CHECK (level BETWEEN 1 AND 62),
    idx   bigint   NOT NULL CHECK (idx >= 0),
    hash  bytea    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION credit_log_append_only();
CREATE TRIGGER merkle_nodes_no_truncate BEFORE TRUNCATE ON merkle_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION credit_log_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON merkle_nodes FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON merkle_nodes FROM CURRENT_USER;

-- Backfill for a log that already has entries: one level at a time,
-- node = SHA-256(0x01 || left || right) over the pairs of the level below.
DO $$
DECLARE
    lvl int := 1;
    made bigint;
BEGIN
    INSERT INTO merkle_nodes (level, idx, hash)
    SELECT 1, l.seq / 2, sha256('\x01'::bytea || l.leaf_hash || r.leaf_hash)
      FROM publication_log l JOIN publication_log r ON r.seq = l.seq + 1
     WHERE l.seq % 2 = 0;
    GET DIAGNOSTICS made = ROW_COUNT;
    WHILE made > 1 LOOP
        INSERT INTO merkle_nodes (level, idx, hash)
        SELECT lvl + 1, l.idx / 2, sha256('\x01'::bytea || l.hash || r.hash)
          FROM merkle_nodes l JOIN merkle_nodes r ON r.level = lvl AND r.idx = l.idx + 1
         WHERE l.level = lvl AND l.idx % 2 = 0;
        GET DIAGNOSTICS made = ROW_COUNT;
        lvl := lvl + 1;
    END LOOP;
END $$;
