-- The deny list is read by sequence, not by time: each instance asks for
-- the entries after the last sequence number it has settled, so an
-- instance whose clock differs from the writer's misses nothing. A key
-- is an access token's jti, "sid:" and a refresh-token family (every
-- access token issued with it), or "client:" and a deleted client.
ALTER TABLE revoked_tokens ADD COLUMN seq BIGSERIAL;
CREATE UNIQUE INDEX revoked_tokens_seq ON revoked_tokens (seq);
DROP INDEX revoked_tokens_revoked_at;
