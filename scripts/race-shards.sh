#!/usr/bin/env bash
# Runs the tests of one package under the race detector as SHARDS
# processes of one test binary side by side, each with every SHARDS-th
# test (by name), and fails if any shard fails. cmd/sigil's end-to-end
# tests are most of `make test`'s time and mostly wait (servers, browsers,
# mail, Postgres), so two processes take about half as long on two cores.
# Every test makes its own server, database and browser tab, and listens
# on ports the system picks, so the shards share nothing but Postgres and
# the machine.
#
#   scripts/race-shards.sh ./cmd/sigil            # SHARDS=2 TIMEOUT=20m
set -euo pipefail
pkg="${1:?usage: scripts/race-shards.sh PACKAGE}"
shards="${SHARDS:-2}"
timeout="${TIMEOUT:-20m}"
GO="${GO:-go}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$GO" test -race -c -o "$work/pkg.test" "$pkg"
dir="$("$GO" list -f '{{.Dir}}' "$pkg")"
# Tests, fuzz targets (their seed corpora) and examples: what `go test`
# runs.
mapfile -t names < <(cd "$dir" && "$work/pkg.test" -test.list '.*' | grep -E '^(Test|Fuzz|Example)' | sort)
[ "${#names[@]}" -gt 0 ] || { echo "race-shards: no tests in $pkg" >&2; exit 1; }

start=$SECONDS
pids=()
for ((i = 0; i < shards; i++)); do
	pattern=""
	for ((j = i; j < ${#names[@]}; j += shards)); do
		pattern+="${pattern:+|}${names[j]}"
	done
	(cd "$dir" && exec "$work/pkg.test" -test.run "^(${pattern})\$" -test.count=1 -test.timeout "$timeout") >"$work/shard$i.log" 2>&1 &
	pids+=($!)
done
failed=0
for ((i = 0; i < shards; i++)); do
	if wait "${pids[i]}"; then
		echo "ok   $pkg shard $((i + 1))/$shards ($(((${#names[@]} - i + shards - 1) / shards)) tests) after $((SECONDS - start))s"
	else
		failed=1
		cat "$work/shard$i.log"
		echo "FAIL $pkg shard $((i + 1))/$shards after $((SECONDS - start))s"
	fi
done
exit "$failed"
