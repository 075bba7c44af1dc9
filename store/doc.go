// Package store keeps Sigil's state in SQL through sqlx: Postgres (lib/pq)
// for production and several instances, SQLite (modernc.org/sqlite, no cgo)
// as the embedded default. It satisfies the storage interfaces declared by
// the authority and keys packages.
//
// It holds no policy: what to write and when is the domain's decision;
// every state change the domain needs atomic is one transaction here.
package store
