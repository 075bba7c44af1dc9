-- OpenID Connect: browser sign-in with the authorization code flow.
--
-- Clients gain redirect URIs, post-logout redirect URIs and grant types
-- (each space-separated; a URI never contains a space), and the public
-- (no secret, PKCE required) and first-party (no consent page) flags.
-- Existing clients keep their client_credentials grant.
ALTER TABLE clients ADD COLUMN redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN grant_types TEXT NOT NULL DEFAULT 'client_credentials';
ALTER TABLE clients ADD COLUMN public BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN first_party BOOLEAN NOT NULL DEFAULT FALSE;

-- Browser sessions of the hosted pages. The cookie carries 256 random
-- bits stored only as their SHA-256 (token_hash); id is the session's
-- public name, the sid claim of ID tokens. amr is space-separated.
CREATE TABLE browser_sessions (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    auth_time    BIGINT NOT NULL,
    amr          TEXT NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    revoked_at   BIGINT,
    user_agent   TEXT NOT NULL DEFAULT '',
    ip           TEXT NOT NULL DEFAULT ''
);
CREATE INDEX browser_sessions_user ON browser_sessions (user_id);
CREATE INDEX browser_sessions_expires ON browser_sessions (expires_at);

-- Refresh tokens issued through a browser session end with it.
ALTER TABLE refresh_tokens ADD COLUMN session_id TEXT;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Authorization codes: only the SHA-256 of the code is kept. family_id
-- and access_jti name the refresh-token family and the access token the
-- first redemption issues (chosen before it is marked used), so that a
-- replay can revoke them.
CREATE TABLE authorization_codes (
    code_hash      TEXT PRIMARY KEY,
    client_id      TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id     TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    scope          TEXT NOT NULL DEFAULT '',
    nonce          TEXT NOT NULL DEFAULT '',
    code_challenge TEXT NOT NULL DEFAULT '',
    auth_time      BIGINT NOT NULL,
    amr            TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT,
    family_id      TEXT NOT NULL DEFAULT '',
    access_jti     TEXT NOT NULL DEFAULT '',
    access_exp     BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX authorization_codes_expires ON authorization_codes (expires_at);

-- Consent a user gave a third-party client: the scopes granted so far
-- (space-separated). A request within them needs no consent page.
CREATE TABLE consents (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL REFERENCES clients (id) ON DELETE CASCADE,
    scopes     TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
