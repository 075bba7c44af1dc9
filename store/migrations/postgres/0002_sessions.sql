-- Sessions and OAuth 2.0 clients.
--
-- Refresh-token rotation: a spent token names its successor (replaced_by),
-- and grace_used_at marks the one retry allowed within
-- SIGIL_REFRESH_REUSE_GRACE, so every transition is a compare-and-swap on
-- these columns.
ALTER TABLE refresh_tokens ADD COLUMN replaced_by TEXT;
ALTER TABLE refresh_tokens ADD COLUMN grace_used_at BIGINT;
CREATE INDEX refresh_tokens_client ON refresh_tokens (client_id);

-- OAuth 2.0 confidential clients. The secret is stored only as its SHA-256
-- (it carries 256 random bits). scopes is space-separated; token_ttl is
-- milliseconds, 0 meaning SIGIL_ACCESS_TOKEN_TTL. Deleting a client removes
-- its row.
CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    scopes      TEXT NOT NULL DEFAULT '',
    audience    TEXT NOT NULL,
    token_ttl   BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

-- Revoked access tokens (RFC 7009): their jti, kept until the token
-- expires, after which the signature check alone rejects it.
CREATE TABLE revoked_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_revoked_at ON revoked_tokens (revoked_at);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);
