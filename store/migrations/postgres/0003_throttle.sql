-- Failed-login throttling, per normalised email whether or not an account
-- exists, so that throttling reveals nothing about which emails are
-- registered. Every instance reads and writes the same rows.
CREATE TABLE login_throttle (
    email        TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL DEFAULT 0,
    locked_until BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX login_throttle_updated ON login_throttle (updated_at);
