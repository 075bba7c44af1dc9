#!/bin/sh
# Cost as data grows: login, refresh and introspection throughput of one
# Sigil on an empty database against one on a seeded database (see
# `sigil-load seed`), alternating between the two in rounds so that both
# see the same machine, then the ratios and each server's memory.
#
#   bench/growth.sh EMPTY_DB_URL SEEDED_DB_URL [ROUNDS] [SECONDS_PER_RUN] [CONNECTIONS]
#
# e.g. (the seeded database filled first with bin/sigil-load seed):
#   bench/growth.sh postgres://postgres@127.0.0.1:5432/empty postgres://postgres@127.0.0.1:5432/seeded 3 5s 16
#
# Both servers run with EdDSA keys (ALG=RS256 to change), no rate limit and
# no lockout. Needs bin/sigil and bin/sigil-load (make build build-load).
set -eu
EMPTY=$1
SEEDED=$2
ROUNDS=${3:-3}
SECS=${4:-5s}
CONC=${5:-16}
BIN=${BIN:-bin}
ALG=${ALG:-EdDSA}
SCENARIOS=${SCENARIOS:-login,refresh,introspect}
# The key-encryption key of both servers: the one in the environment, or
# one generated once into KEK_FILE and reused, since the databases keep
# the signing keys it sealed for the next run.
KEK_FILE=${KEK_FILE:-.growth-kek}
if [ -z "${SIGIL_KEY_ENCRYPTION_KEY:-}" ] && [ ! -s "$KEK_FILE" ]; then
	(umask 077 && head -c 32 /dev/urandom | base64 >"$KEK_FILE")
fi
KEK=${SIGIL_KEY_ENCRYPTION_KEY:-$(cat "$KEK_FILE")}
ADMIN=growth-admin@example.com
ADMINPW='growth benchmark administrator'
OUT=$(mktemp -d)
trap 'kill $PIDS 2>/dev/null; wait 2>/dev/null; rm -rf "$OUT"' EXIT INT TERM
PIDS=

start() { # name url port
	env SIGIL_DATABASE_URL="$2" SIGIL_ADDR="127.0.0.1:$3" SIGIL_KEY_ENCRYPTION_KEY="$KEK" \
		SIGIL_RATE_LIMIT=0 SIGIL_LOCKOUT_THRESHOLD=0 SIGIL_ROTATION_PERIOD=0 SIGIL_SIGNING_ALG="$ALG" \
		SIGIL_ADMIN_EMAIL="$ADMIN" SIGIL_ADMIN_PASSWORD="$ADMINPW" SIGIL_LOG_LEVEL=warn \
		"$BIN/sigil" serve >"$OUT/$1.out" 2>"$OUT/$1.log" &
	PIDS="$PIDS $!"
	eval "PID_$1=$!"
	for _ in $(seq 600); do
		grep -q "listening on" "$OUT/$1.out" 2>/dev/null && return
		sleep 0.1
	done
	echo "$1 did not start:" >&2
	cat "$OUT/$1.log" >&2
	exit 1
}

start empty "$EMPTY" 18081
start seeded "$SEEDED" 18082
for r in $(seq "$ROUNDS"); do
	for t in empty seeded; do
		port=18081
		[ "$t" = seeded ] && port=18082
		eval "pid=\$PID_$t"
		echo "== round $r, $t database"
		"$BIN/sigil-load" -addr "127.0.0.1:$port" -pid "$pid" -duration "$SECS" -c "$CONC" \
			-scenario "$SCENARIOS" -admin-email "$ADMIN" -admin-password "$ADMINPW" | tee -a "$OUT/$t.load"
	done
done
echo
echo "scenario        empty ok/s  seeded ok/s  seeded/empty   (mean of $ROUNDS rounds of $SECS, c=$CONC)"
for s in $(echo "$SCENARIOS" | tr , ' '); do
	e=$(awk -v s="$s" '$1 == s { sum += $4; n++ } END { if (n) printf "%.1f", sum / n }' "$OUT/empty.load")
	d=$(awk -v s="$s" '$1 == s { sum += $4; n++ } END { if (n) printf "%.1f", sum / n }' "$OUT/seeded.load")
	awk -v s="$s" -v e="$e" -v d="$d" 'BEGIN { printf "%-15s %11s %12s %13.3f\n", s, e, d, (e > 0 ? d / e : 0) }'
done
for t in empty seeded; do
	eval "pid=\$PID_$t"
	printf '%s server: %s\n' "$t" "$(grep -E 'VmRSS|VmHWM' "/proc/$pid/status" | tr -s ' \t' ' ' | tr '\n' ' ')"
done
