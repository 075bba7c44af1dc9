-- Postgres announces device decisions to the other instances here (a
-- trigger notifying sigil_devices). On SQLite this process makes every
-- decision itself, and another process's writes show in the writer
-- connection's data_version (store/clientcache.go), so there is nothing
-- to announce: this migration only keeps the two schemas' version
-- numbers in step.
SELECT 1;
