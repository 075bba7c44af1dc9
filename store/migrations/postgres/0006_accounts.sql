-- Accounts: email verification, password reset, email change, sessions,
-- locking, roles, and the outbox of mail to send.
ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE users ADD COLUMN locked BOOLEAN NOT NULL DEFAULT FALSE;
-- roles beyond "admin" (which stays is_admin), space-separated.
ALTER TABLE users ADD COLUMN roles TEXT NOT NULL DEFAULT '';

-- Where a refresh-token family was started, copied to each successor, so
-- that the user's session list shows it.
ALTER TABLE refresh_tokens ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN ip TEXT NOT NULL DEFAULT '';

-- Single-use tokens sent by mail (kind: verify, reset, email_change): only
-- their SHA-256 is kept. email is the address the link was sent to.
CREATE TABLE account_tokens (
    token_hash TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX account_tokens_user ON account_tokens (user_id);

-- Mail waiting to be sent. body is the rendered message sealed with the
-- key-encryption key (it carries single-use links). A row is claimed by
-- one instance (status sending, claimed_by, lease_until) before it is
-- handed to the SMTP server, so no message is sent twice.
CREATE TABLE mail_outbox (
    id              TEXT PRIMARY KEY,
    user_id         TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_by      TEXT NOT NULL DEFAULT '',
    lease_until     BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt_at);
CREATE INDEX mail_outbox_user ON mail_outbox (user_id);
