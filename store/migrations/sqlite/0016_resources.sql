-- Resource servers (RFC 8707): an access token asked for with a
-- resource indicator has that resource, and only it, as its audience.
-- A code and a refresh-token family remember the resource they were
-- granted for, so the token endpoint can refuse to widen it.
CREATE TABLE resources (
    id         TEXT PRIMARY KEY,
    uri        TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
ALTER TABLE authorization_codes ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN resource TEXT NOT NULL DEFAULT '';
