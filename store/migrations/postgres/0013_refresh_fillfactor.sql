-- A refresh spends its token (UPDATE spent_at, replaced_by: no indexed
-- column) and inserts the successor. With full pages, the spend writes
-- the new row version to another page and a new entry into each of the
-- table's six indexes; with room left on each page Postgres updates the
-- row in place (a heap-only tuple) and touches no index. On a table of
-- millions of tokens, whose random-keyed indexes do not fit in memory,
-- those index writes were what slowed refreshes down
-- (docs/benchmarks.md, "Cost as data grows"). Pages written from now on
-- keep a fifth free; existing pages keep their layout until rewritten.
ALTER TABLE refresh_tokens SET (fillfactor = 80);
