-- Postgres announces client changes to the other instances here (a
-- trigger notifying sigil_clients). On SQLite every change of this
-- process goes through its one writer connection, and another process's
-- changes show in that connection's data_version (store/clientcache.go),
-- so there is nothing to announce: this migration only keeps the two
-- schemas' version numbers in step.
SELECT 1;
