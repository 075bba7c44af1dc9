-- The deny list is read by sequence, not by time: each instance asks for
-- the entries after the last sequence number it has settled, so an
-- instance whose clock differs from the writer's misses nothing. A key
-- is an access token's jti, "sid:" and a refresh-token family (every
-- access token issued with it), or "client:" and a deleted client.
-- AUTOINCREMENT: a sequence number is never reused, even after the
-- newest entry expires and is deleted.
CREATE TABLE revoked_tokens_seq (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    jti        TEXT NOT NULL UNIQUE,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);
INSERT INTO revoked_tokens_seq (jti, expires_at, revoked_at)
    SELECT jti, expires_at, revoked_at FROM revoked_tokens ORDER BY revoked_at, jti;
DROP TABLE revoked_tokens;
ALTER TABLE revoked_tokens_seq RENAME TO revoked_tokens;
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);
