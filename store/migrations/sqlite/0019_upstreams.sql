-- Upstream sign-in (federation): the identity providers a user may sign
-- in through, the identities linked to Sigil accounts, and the sign-ins
-- in flight (a state waiting for its callback, or a link waiting for the
-- existing account's password). The client secret is sealed with the
-- key-encryption key; a pending record stores only hashes of what the
-- browser holds.
CREATE TABLE upstreams (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    type          TEXT NOT NULL,
    issuer        TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    sealed_secret TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    linking       TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE TABLE upstream_identities (
    upstream_id TEXT NOT NULL REFERENCES upstreams (id) ON DELETE CASCADE,
    subject     TEXT NOT NULL,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (upstream_id, subject)
);
CREATE INDEX upstream_identities_user ON upstream_identities (user_id);
CREATE TABLE upstream_pending (
    hash           TEXT PRIMARY KEY,
    kind           TEXT NOT NULL,
    upstream_id    TEXT NOT NULL,
    browser_hash   TEXT NOT NULL,
    nonce          TEXT NOT NULL,
    authz          TEXT NOT NULL,
    subject        TEXT NOT NULL,
    email          TEXT NOT NULL,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    user_id        TEXT NOT NULL,
    expires_at     BIGINT NOT NULL
);
