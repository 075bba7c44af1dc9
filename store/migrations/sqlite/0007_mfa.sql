-- Second factors.
--
-- mfa_totp holds one TOTP authenticator per user. The secret is sealed
-- with the key-encryption keys (AES-256-GCM, the user id bound as
-- associated data), never stored in clear. confirmed_at is 0 while the
-- enrolment waits for its first code; last_step is the last 30-second
-- step whose code was accepted, so a code is accepted once.
CREATE TABLE mfa_totp (
    user_id       TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret TEXT NOT NULL,
    confirmed_at  BIGINT NOT NULL DEFAULT 0,
    last_step     BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

-- Recovery codes: only the SHA-256 of each (bound to its user), single
-- use (used_at is 0 until spent).
CREATE TABLE mfa_recovery_codes (
    code_hash  TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    used_at    BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (user_id);

-- Tokens handed out by a login that still needs a second factor
-- (purpose 'login') or an enrolment (purpose 'enroll'): 256 random bits
-- stored as their SHA-256, short-lived, single use, a few wrong codes.
CREATE TABLE mfa_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,
    amr        TEXT NOT NULL DEFAULT '',
    failures   INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX mfa_tokens_expires ON mfa_tokens (expires_at);

-- A client may get codes only for sign-ins with a second factor.
ALTER TABLE clients ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
