-- Every new pending upstream sign-in deletes the expired ones by
-- expires_at: without this index that is a scan of the whole table.
CREATE INDEX upstream_pending_expires ON upstream_pending (expires_at);
