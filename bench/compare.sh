#!/usr/bin/env bash
# Side-by-side client_credentials RS256 benchmark on this machine:
# node oidc-provider 9 (bench/peers/oidc-provider, NODE_ENV=production,
# JWT access tokens signed RS256) against Sigil built with OpenSSL
# (-tags openssl, the release build) and without it (crypto/rsa), plus
# Sigil's EdDSA, all loaded by the same generator (bin/sigil-load) at the
# same concurrency on 127.0.0.1. The targets alternate in ROUNDS rounds so
# each sees the same load from other processes; the script prints every
# round, the mean rates and the ratios, and stops everything it started.
#
#   bench/compare.sh                      # DURATION=10s C=16 ROUNDS=3
#   DURATION=5s C=32 ROUNDS=5 bench/compare.sh
#
# SCENARIO=authcode compares the authorization code flow of a signed-in
# browser instead (authorize with PKCE, then the code exchange answering
# an access token and an ID token; pairs per second): the peer with its
# session cookie and stored grant (its public client bench-web, signed in
# once by sigil-load's set-up through the peer's page-less interaction)
# against Sigil with OpenSSL RS256 and Sigil EdDSA.
#
#   SCENARIO=authcode bench/compare.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
C="${C:-16}"
ROUNDS="${ROUNDS:-3}"
SCENARIO="${SCENARIO:-client_credentials}"
case "$SCENARIO" in
client_credentials | authcode) ;;
*) echo "SCENARIO=$SCENARIO: use client_credentials or authcode" >&2; exit 2 ;;
esac
web_client_id="bench-web"
GO="${GO:-go}"

echo "building bin/sigil (-tags openssl), bin/sigil-purego (CGO_ENABLED=0), bin/sigil-load" >&2
"$GO" build -tags openssl -o bin/sigil ./cmd/sigil
CGO_ENABLED=0 "$GO" build -o bin/sigil-purego ./cmd/sigil
"$GO" build -tags openssl -o bin/sigil-load ./cmd/sigil-load
bin/sigil --version | sed -n 2p | grep -q ': openssl ' || { echo "bin/sigil does not sign with OpenSSL" >&2; exit 1; }
bin/sigil-purego --version | sed -n 2p | grep -q ': go ' || { echo "bin/sigil-purego does not sign with crypto/rsa" >&2; exit 1; }

work="$(mktemp -d)"
peer_pid=""
cleanup() {
	if [ -n "$peer_pid" ]; then kill "$peer_pid" 2>/dev/null || true; wait "$peer_pid" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT

client_id="bench-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
client_secret="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
CLIENT_ID="$client_id" CLIENT_SECRET="$client_secret" WEB_CLIENT_ID="$web_client_id" PORT=0 \
	bench/peers/oidc-provider/start.sh >"$work/peer.out" 2>"$work/peer.err" &
peer_pid=$!
peer_addr=""
for _ in $(seq 1 600); do
	peer_addr="$(grep -o 'listening on http://127\.0\.0\.1:[0-9]*' "$work/peer.out" | sed 's/listening on //' || true)"
	[ -n "$peer_addr" ] && break
	kill -0 "$peer_pid" 2>/dev/null || { cat "$work/peer.err" >&2; echo "oidc-provider did not start" >&2; exit 1; }
	sleep 0.2
done
[ -n "$peer_addr" ] || { echo "oidc-provider did not start in 2 minutes" >&2; exit 1; }
echo "oidc-provider $(node -p 'require("./bench/peers/oidc-provider/node_modules/oidc-provider/package.json").version') on node $(node --version) at $peer_addr (pid $peer_pid)" >&2

# rate TARGET: one run of the scenario; prints ok/s.
rate() {
	local out="$work/run.out" args
	case "$1" in
	peer)
		if [ "$SCENARIO" = authcode ]; then
			args=(-peer -addr "$peer_addr" -client-id "$web_client_id" -pid "$peer_pid")
		else
			args=(-peer -addr "$peer_addr" -client-id "$client_id" -client-secret "$client_secret" -pid "$peer_pid")
		fi
		;;
	openssl) args=(-spawn bin/sigil) ;;
	go) args=(-spawn bin/sigil-purego) ;;
	eddsa) args=(-spawn bin/sigil -spawn-env SIGIL_SIGNING_ALG=EdDSA) ;;
	esac
	bin/sigil-load "${args[@]}" -scenario "$SCENARIO" -c "$C" -duration "$DURATION" >"$out" 2>&1 || { cat "$out" >&2; return 1; }
	local alg line cpu
	alg="$(sed -n 's/.*signing alg \([A-Za-z0-9]*\).*/\1/p' "$out" | head -1)"
	cpu="$(sed -n 's/.*target CPU: \([0-9]*\) µs per ok answer, \([0-9.]*\) cores busy.*/\1 \2/p' "$out" | head -1)"
	line="$(grep "^$SCENARIO " "$out" | head -1)"
	[ -n "$line" ] || { cat "$out" >&2; return 1; }
	set -- $line
	# columns: scenario c ok ok/s p50 p99 errors refused rss/peak answers
	echo "$4 $alg $5 $6 $7 ${9:--} ${cpu:-- -}"
}

# node compiles its hot paths while it runs: one discarded run first.
rate peer >/dev/null
targets=(peer openssl go eddsa)
unit="tokens/s" per="token"
if [ "$SCENARIO" = authcode ]; then
	targets=(peer openssl eddsa)
	unit="pairs/s" per="pair"
fi
declare -A label=([peer]="oidc-provider 9 (node)" [openssl]="Sigil, OpenSSL" [go]="Sigil, crypto/rsa" [eddsa]="Sigil, EdDSA")
declare -A sum=() cpusum=()
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) at $(date -u +%H:%M) UTC"
echo "$SCENARIO, c=$C, $DURATION per run, $ROUNDS rounds, targets alternating"
printf '%-6s %-26s %6s %10s %9s %9s %7s %12s %12s %s\n' round target alg "$unit" p50 p99 errors "CPU µs/$per" "cores busy" "rss/peak MB"
for r in $(seq 1 "$ROUNDS"); do
	for t in "${targets[@]}"; do
		read -r ok alg p50 p99 errs mem cpu cores < <(rate "$t")
		printf '%-6s %-26s %6s %10s %9s %9s %7s %12s %12s %s\n' "$r" "${label[$t]}" "$alg" "$ok" "$p50" "$p99" "$errs" "$cpu" "$cores" "$mem"
		sum[$t]="$(awk -v a="${sum[$t]:-0}" -v b="$ok" 'BEGIN{print a+b}')"
		cpusum[$t]="$(awk -v a="${cpusum[$t]:-0}" -v b="$cpu" 'BEGIN{print a+b}')"
	done
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
mean() { awk -v s="${sum[$1]}" -v n="$ROUNDS" 'BEGIN{printf "%.1f", s/n}'; }
cpumean() { awk -v s="${cpusum[$1]}" -v n="$ROUNDS" 'BEGIN{printf "%.0f", s/n}'; }
echo
printf '%-26s %10s %16s\n' target "mean/s" "CPU µs/$per"
for t in "${targets[@]}"; do printf '%-26s %10s %16s\n' "${label[$t]}" "$(mean "$t")" "$(cpumean "$t")"; done
echo
if [ "$SCENARIO" = authcode ]; then
	awk -v o="$(mean openssl)" -v e="$(mean eddsa)" -v p="$(mean peer)" 'BEGIN{
		printf "Sigil RS256 (OpenSSL) / oidc-provider RS256: %.2f  (target >= 1.5)\n", o/p
		printf "Sigil EdDSA / oidc-provider RS256:           %.2f  (target >= 1.5)\n", e/p
	}'
	awk -v o="$(cpumean openssl)" -v e="$(cpumean eddsa)" -v p="$(cpumean peer)" 'BEGIN{
		if (o > 0 && e > 0) printf "server CPU per pair, oidc-provider / Sigil OpenSSL: %.2f, / Sigil EdDSA: %.2f\n", p/o, p/e
	}'
	exit 0
fi
awk -v o="$(mean openssl)" -v g="$(mean go)" -v p="$(mean peer)" 'BEGIN{
	printf "Sigil RS256 (OpenSSL) / oidc-provider RS256:   %.2f  (target >= 1.2)\n", o/p
	printf "Sigil RS256 (crypto/rsa) / oidc-provider RS256: %.2f\n", g/p
	printf "Sigil RS256 OpenSSL / crypto/rsa:              %.2f\n", o/g
}'
awk -v o="$(cpumean openssl)" -v p="$(cpumean peer)" 'BEGIN{
	if (o > 0) printf "server CPU per token, oidc-provider / Sigil OpenSSL: %.2f (does not depend on how busy the machine is)\n", p/o
}'
echo "Sigil EdDSA: $(mean eddsa) tokens/s (target >= 8000)"
