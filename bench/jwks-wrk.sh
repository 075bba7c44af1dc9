#!/usr/bin/env bash
# JWKS against a bare net/http handler serving the same bytes, both loaded
# by wrk (not by Sigil's own load generator), in alternating rounds so both
# see the same machine. Needs wrk (Debian: apt-get install wrk) and
# `make build build-load`. Only 127.0.0.1; stops everything it started.
#
#   bench/jwks-wrk.sh [ROUNDS] [SECONDS] [CONNECTIONS]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5} secs=${2:-5} conns=${3:-16}
command -v wrk >/dev/null || { echo "jwks-wrk: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
[ -x bin/sigil ] && [ -x bin/sigil-load ] || { echo "jwks-wrk: run make build build-load first" >&2; exit 1; }

dir=$(mktemp -d)
pids=()
cleanup() {
	exec 3>&- # the bare server exits when its stdin closes
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
SIGIL_ADDR=127.0.0.1:$port SIGIL_DATABASE_URL=sqlite:$dir/sigil.db SIGIL_ROTATION_PERIOD=0 \
	bin/sigil serve >"$dir/sigil.log" 2>&1 &
pids+=($!)
sigil=http://127.0.0.1:$port/.well-known/jwks.json
for _ in $(seq 1 100); do curl -sf "$sigil" -o "$dir/jwks.json" && break; sleep 0.1; done
[ -s "$dir/jwks.json" ] || { echo "jwks-wrk: Sigil did not start:" >&2; tail -5 "$dir/sigil.log" >&2; exit 1; }

mkfifo "$dir/in"
bin/sigil-load -bare-serve <"$dir/in" >"$dir/bare.out" 2>&1 &
pids+=($!)
exec 3>"$dir/in"
printf '%d\n' "$(stat -c %s "$dir/jwks.json")" >&3
cat "$dir/jwks.json" >&3
for _ in $(seq 1 100); do grep -q listening "$dir/bare.out" && break; sleep 0.1; done
bare=$(grep -o 'http://[0-9.:]*' "$dir/bare.out")/.well-known/jwks.json

rate() { wrk -t2 -c"$conns" -d"${secs}s" "$1" | awk '/^Requests\/sec/ {print $2}'; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "wrk -t2 -c$conns -d${secs}s, $rounds rounds alternating"
printf '%-6s %12s %12s %7s\n' round sigil/s bare/s ratio
ssum=0 bsum=0
for r in $(seq 1 "$rounds"); do
	s=$(rate "$sigil") b=$(rate "$bare")
	printf '%-6s %12s %12s %7.3f\n' "$r" "$s" "$b" "$(echo "$s / $b" | bc -l)"
	ssum=$(echo "$ssum + $s" | bc -l) bsum=$(echo "$bsum + $b" | bc -l)
done
printf 'JWKS over wrk: Sigil %.0f/s, bare handler %.0f/s, ratio %.3f (target >= 0.9)\n' \
	"$(echo "$ssum / $rounds" | bc -l)" "$(echo "$bsum / $rounds" | bc -l)" "$(echo "$ssum / $bsum" | bc -l)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
