// Package storetest gives tests a fresh database of each backend: an SQLite
// file in a temporary directory, and a new Postgres database created for
// the test and dropped after it.
//
// The Postgres server is SIGIL_TEST_POSTGRES_URL (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable). When it cannot
// be reached the Postgres cases are skipped, except when CI=true or
// SIGIL_TEST_REQUIRE_POSTGRES=1, where they fail.
package storetest
