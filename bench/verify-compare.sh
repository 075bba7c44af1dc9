#!/usr/bin/env bash
# Resource servers: Sigil's verify middleware against go-jose by hand,
# coreos/go-oidc and node jose, on this machine, in two parts.
#
# 1. Go benchmarks (verify/peers_bench_test.go): the same protected
#    handler behind each Go verifier, called through ServeHTTP, RS256,
#    ES256 and EdDSA; GOROUNDS rounds, in each the three sides of one alg
#    back to back; the median CPU time and wall time per request of each,
#    and the ratios.
# 2. Load: a Sigil on 127.0.0.1 per signing alg (temporary SQLite), and
#    four resource servers trusting it: bench/rs -mode verify, gojose,
#    gooidc, and bench/peers/node-jose (npm ci installs the pinned jose).
#    The same generator (sigil-load -scenario resource) loads each in turn,
#    ROUNDS rounds alternating, with a token the Sigil issued; it prints
#    every run, the mean rates, the resource server's CPU per request and
#    the ratios, and stops everything it started.
#
#   bench/verify-compare.sh                 # GOROUNDS=5 ROUNDS=3 DURATION=5s C=16
#   ALGS=EdDSA ROUNDS=5 bench/verify-compare.sh
#   GOROUNDS=0 bench/verify-compare.sh      # load only
#   ALGS= bench/verify-compare.sh           # Go benchmarks only
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-5s}"
C="${C:-16}"
ROUNDS="${ROUNDS:-3}"
GOROUNDS="${GOROUNDS:-5}"
ALGS="${ALGS-RS256 ES256 EdDSA}"
GO="${GO:-go}"

work="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	rm -rf "$work"
}
trap cleanup EXIT

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"

if [ "$GOROUNDS" -gt 0 ]; then
	echo
	echo "== Go benchmarks: ServeHTTP of one protected handler, $GOROUNDS rounds, median CPU ns/op (process CPU time) and wall ns/op"
	# One test binary; per round and alg the three sides run back to back,
	# so each ratio compares runs a few seconds apart.
	"$GO" test -c -o "$work/verify.test" ./verify/
	for r in $(seq 1 "$GOROUNDS"); do
		for alg in RS256 ES256 EdDSA; do
			(cd verify && "$work/verify.test" -test.run '^$' -test.bench "^BenchmarkServe.*/$alg\$" -test.benchtime 1s -test.benchmem) |
				grep '^BenchmarkServe' >>"$work/gobench"
		done
	done
	# BenchmarkServeVerify/RS256-2  N  W ns/op  C cpu-ns/op ...: side, alg, C, W, allocs
	awk '{split($1, p, "/"); side=substr(p[1], 15); alg=p[2]; sub(/-[0-9]+$/, "", alg)
		for (i = 2; i <= NF; i++) { if ($i == "ns/op") w=$(i-1); if ($i == "cpu-ns/op") c=$(i-1); if ($i == "allocs/op") a=$(i-1) }
		print side, alg, c, w, a}' "$work/gobench" >"$work/gorows"
	median() { awk -v s="$1" -v x="$2" -v col="$3" '$1==s && $2==x {print $col}' "$work/gorows" | sort -n |
		awk '{v[++n]=$1} END {print (n%2) ? v[(n+1)/2] : (v[n/2]+v[n/2+1])/2}'; }
	printf '%-6s %-8s %12s %12s %12s %16s %16s %18s\n' alg "" verify go-jose go-oidc "verify/go-jose" "verify/go-oidc" "allocs v/j/o"
	for alg in RS256 ES256 EdDSA; do
		for col in 3 4; do
			a=$(median Verify "$alg" $col) b=$(median GoJose "$alg" $col) c=$(median GoOIDC "$alg" $col)
			allocs="$(median Verify "$alg" 5)/$(median GoJose "$alg" 5)/$(median GoOIDC "$alg" 5)"
			# rates are 1/ns: (verify rate)/(go-jose rate) = go-jose ns / verify ns.
			awk -v alg="$alg" -v what="$([ $col = 3 ] && echo cpu-ns || echo wall-ns)" -v a="$a" -v b="$b" -v c="$c" -v al="$allocs" 'BEGIN{
				printf "%-6s %-8s %12.0f %12.0f %12.0f %16.2f %16.2f %18s\n", alg, what, a, b, c, b/a, c/a, al }'
		done
	done
	echo "(rates, verify against each: target verify/go-jose >= 0.9, verify/go-oidc > 1; cpu-ns does not count time other processes held the cores)"
fi

[ -n "$ALGS" ] || exit 0
echo
echo "building bin/sigil, bin/sigil-load, bin/sigil-rs" >&2
"$GO" build -o bin/sigil ./cmd/sigil
"$GO" build -o bin/sigil-load ./cmd/sigil-load
"$GO" build -o bin/sigil-rs ./bench/rs
command -v node >/dev/null || { echo "verify-compare: node is not installed" >&2; exit 1; }

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# waitfor FILE PID WHAT: the address a server printed ("listening on http://ADDR").
waitfor() {
	local addr=""
	for _ in $(seq 1 600); do
		addr="$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$1" | sed 's|listening on http://||' || true)"
		[ -n "$addr" ] && { echo "$addr"; return 0; }
		kill -0 "$2" 2>/dev/null || break
		sleep 0.2
	done
	echo "verify-compare: $3 did not start:" >&2
	tail -5 "$1" "${1%.out}.err" >&2 2>/dev/null || true
	return 1
}

modes=(verify gojose gooidc node)
declare -A label=([verify]="verify middleware (Go)" [gojose]="go-jose by hand (Go)" [gooidc]="go-oidc verifier (Go)" [node]="node jose")

for alg in $ALGS; do
	port=$(freeport)
	issuer="http://127.0.0.1:$port"
	SIGIL_ADDR=127.0.0.1:$port SIGIL_DATABASE_URL="sqlite:$work/sigil-$alg.db" SIGIL_SIGNING_ALG="$alg" \
		SIGIL_RATE_LIMIT=0 SIGIL_MAX_HASHES_PER_CLIENT=0 SIGIL_LOCKOUT_THRESHOLD=0 SIGIL_ROTATION_PERIOD=0 \
		bin/sigil serve >"$work/sigil.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 1 100); do curl -sf "$issuer/.well-known/jwks.json" -o /dev/null && break; sleep 0.1; done
	curl -sf "$issuer/.well-known/jwks.json" -o /dev/null || { echo "verify-compare: Sigil did not start:" >&2; tail -5 "$work/sigil.log" >&2; exit 1; }

	declare -A addr=() pid=() sum=() cpusum=()
	for m in verify gojose gooidc; do
		bin/sigil-rs -mode "$m" -issuer "$issuer" >"$work/$m.out" 2>"$work/$m.err" &
		pid[$m]=$!
		pids+=($!)
		addr[$m]=$(waitfor "$work/$m.out" "${pid[$m]}" "bench/rs -mode $m")
	done
	ISSUER="$issuer" bench/peers/node-jose/start.sh >"$work/node.out" 2>"$work/node.err" &
	pid[node]=$!
	pids+=($!)
	addr[node]=$(waitfor "$work/node.out" "${pid[node]}" "node jose")

	# rate MODE: one run of the resource scenario against MODE's server.
	rate() {
		local out="$work/run.out" line cpu
		bin/sigil-load -addr "$issuer" -resource "${addr[$1]}" -pid "${pid[$1]}" -scenario resource \
			-c "$C" -duration "$DURATION" >"$out" 2>&1 || { cat "$out" >&2; return 1; }
		cpu="$(sed -n 's/.*target CPU: \([0-9]*\) µs per ok answer, \([0-9.]*\) cores busy.*/\1 \2/p' "$out" | head -1)"
		line="$(grep '^resource ' "$out" | head -1)"
		[ -n "$line" ] || { cat "$out" >&2; return 1; }
		set -- $line
		# columns: scenario c ok ok/s p50 p99 errors refused rss/peak answers
		echo "$4 $5 $6 $7 ${cpu:-0 0}"
	}
	# node compiles its hot paths while it runs: one discarded run first.
	rate node >/dev/null
	echo "== $alg: GET /protected, c=$C, $DURATION per run, $ROUNDS rounds, servers alternating"
	printf '%-6s %-24s %10s %9s %9s %7s %12s %10s\n' round server "req/s" p50 p99 errors "CPU µs/req" "cores"
	for r in $(seq 1 "$ROUNDS"); do
		for m in "${modes[@]}"; do
			read -r ok p50 p99 errs cpu cores < <(rate "$m")
			printf '%-6s %-24s %10s %9s %9s %7s %12s %10s\n' "$r" "${label[$m]}" "$ok" "$p50" "$p99" "$errs" "$cpu" "$cores"
			sum[$m]="$(awk -v a="${sum[$m]:-0}" -v b="$ok" 'BEGIN{print a+b}')"
			cpusum[$m]="$(awk -v a="${cpusum[$m]:-0}" -v b="$cpu" 'BEGIN{print a+b}')"
		done
	done
	v=${sum[verify]} vc=${cpusum[verify]}
	for m in gojose gooidc node; do
		awk -v l="${label[$m]}" -v alg="$alg" -v v="$v" -v o="${sum[$m]}" -v vc="$vc" -v oc="${cpusum[$m]}" -v n="$ROUNDS" 'BEGIN{
			printf "%s verify / %s: %.2f by rate (%.0f against %.0f/s), %.2f by CPU per request\n", alg, l, v/o, v/n, o/n, (vc>0 ? oc/vc : 0) }'
	done
	echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	unset addr pid sum cpusum
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
