-- WebAuthn credentials (passkeys and security keys).
--
-- credential_id is the credential's id, base64url without padding; the
-- public key is its COSE encoding, base64url. sign_count is the last
-- signature counter seen: an assertion whose counter does not advance
-- (other than an authenticator that always sends 0) marks a cloned
-- authenticator and is refused. flags holds the backup-eligible and
-- backup-state bits the credential was registered with.
CREATE TABLE webauthn_credentials (
    credential_id      TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    public_key         TEXT NOT NULL,
    sign_count         BIGINT NOT NULL DEFAULT 0,
    aaguid             TEXT NOT NULL DEFAULT '',
    transports         TEXT NOT NULL DEFAULT '',
    attestation_format TEXT NOT NULL DEFAULT '',
    flags              INTEGER NOT NULL DEFAULT 0,
    name               TEXT NOT NULL,
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX webauthn_credentials_user ON webauthn_credentials (user_id);

-- Ceremonies in progress: the challenge and what the answer must match,
-- kept here rather than in anything the browser holds. The id handed to
-- the client is stored as its SHA-256; a ceremony lives five minutes and
-- is deleted by the request that finishes it.
CREATE TABLE webauthn_ceremonies (
    ceremony_hash TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL DEFAULT '',
    purpose       TEXT NOT NULL,
    session_data  TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX webauthn_ceremonies_expires ON webauthn_ceremonies (expires_at);

-- How the user signed in when a refresh-token family started (RFC 8176
-- amr values, space-separated), so that refreshed access tokens carry it
-- on.
ALTER TABLE refresh_tokens ADD COLUMN amr TEXT NOT NULL DEFAULT '';
