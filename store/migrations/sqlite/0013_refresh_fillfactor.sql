-- Postgres leaves room in refresh_tokens' pages for in-place updates
-- here; SQLite has no fill factor: this migration only keeps the two
-- schemas' version numbers in step.
SELECT 1;
