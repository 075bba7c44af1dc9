-- Device authorizations (RFC 8628): a command-line tool's device code
-- and the user code a person confirms at /device, both stored hashed.
-- A poll reads a row by its device code hash and writes nothing until
-- the tokens are issued (used_at, once).
CREATE TABLE device_authorizations (
    id               TEXT PRIMARY KEY,
    device_code_hash TEXT NOT NULL UNIQUE,
    user_code_hash   TEXT NOT NULL UNIQUE,
    client_id        TEXT NOT NULL,
    scope            TEXT NOT NULL DEFAULT '',
    resource         TEXT NOT NULL DEFAULT '',
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    status           TEXT NOT NULL DEFAULT 'pending',
    user_id          TEXT NOT NULL DEFAULT '',
    session_id       TEXT NOT NULL DEFAULT '',
    auth_time        BIGINT NOT NULL DEFAULT 0,
    amr              TEXT NOT NULL DEFAULT '',
    decided_at       BIGINT,
    used_at          BIGINT
);
CREATE INDEX device_authorizations_expires ON device_authorizations (expires_at);
