-- Times are Unix milliseconds (BIGINT) in every backend, so the same
-- queries and comparisons run on Postgres and SQLite.
CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    kid          TEXT PRIMARY KEY,
    alg          TEXT NOT NULL,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'active', 'retired', 'revoked')),
    public_jwk   TEXT NOT NULL,
    sealed_key   TEXT,
    created_at   BIGINT NOT NULL,
    activated_at BIGINT,
    retired_at   BIGINT,
    revoked_at   BIGINT,
    expires_at   BIGINT
);
-- At most one active key, whatever the writers do.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (state) WHERE state = 'active';

CREATE TABLE refresh_tokens (
    token_hash  TEXT PRIMARY KEY,
    family_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id   TEXT NOT NULL,
    scope       TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    spent_at    BIGINT,
    revoked_at  BIGINT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

CREATE TABLE audit_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      BIGINT NOT NULL,
    type    TEXT NOT NULL,
    actor   TEXT NOT NULL DEFAULT '',
    user_id TEXT NOT NULL DEFAULT '',
    kid     TEXT NOT NULL DEFAULT '',
    ip      TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_events_type ON audit_events (type, id);
CREATE INDEX audit_events_user ON audit_events (user_id, id);
