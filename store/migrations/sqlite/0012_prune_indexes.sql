-- Indexes the background pruning walks: each table's rows are deleted in
-- bounded batches by their expiry (or age), oldest first, so every batch
-- reads only the rows it deletes, however large the table has grown.
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX account_tokens_expires ON account_tokens (expires_at);
CREATE INDEX mail_outbox_created ON mail_outbox (created_at);
