// Command sigil-load drives a running Sigil on this machine with a fixed
// concurrency for a fixed time and prints requests per second, p50 and
// p99 latency and the error count of each scenario: JWKS GET, JWKS GET
// answered 304, login, refresh, client_credentials and /auth/me. With
// -baselines it also measures, in the same run, what each path is bounded
// by (a bare net/http handler serving the same JWKS bytes, raw argon2id,
// raw go-jose signing and verification, one database write) and prints the
// ratios. It refuses any target outside 127.0.0.0/8 and ::1.
//
//	sigil-load -addr 127.0.0.1:8080 -duration 10s -c 16 -scenario all -baselines
//	sigil-load -spawn bin/sigil -duration 2s -c 4 -baselines   # starts and stops its own Sigil
//	sigil-load -peer -addr 127.0.0.1:3000 -client-id X -client-secret Y -scenario client_credentials
//	sigil-load seed -db-url postgres://… -scale 0.1            # fills a database (see seed.go)
//	sigil-load explain -db-url postgres://…                    # plans of the hot queries
package main
