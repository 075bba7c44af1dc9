-- Dynamic client registration (RFC 7591, RFC 7592). A registered client
-- remembers when it registered itself (0: created by an administrator)
-- and the hash of its registration access token, with which it may read
-- or delete its own registration. Initial access tokens, created by an
-- administrator for SIGIL_REGISTRATION=token, are kept as hashes with
-- their expiry and the uses left.
ALTER TABLE clients ADD COLUMN registered_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN registration_token_hash TEXT NOT NULL DEFAULT '';
CREATE TABLE registration_tokens (
    id         TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    uses       INTEGER NOT NULL,
    uses_left  INTEGER NOT NULL
);
