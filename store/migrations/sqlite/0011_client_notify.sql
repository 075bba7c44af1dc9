-- Postgres announces client changes to the other instances here (a
-- trigger notifying sigil_clients). SQLite serves one instance and keeps
-- no client cache, so it has nothing to announce: this migration only
-- keeps the two schemas' version numbers in step.
SELECT 1;
