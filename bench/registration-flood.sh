#!/usr/bin/env bash
# Dynamic client registration under a flood, and what it does to sign-in.
# For each registration limit in LIMITS (SIGIL_REGISTRATION_RATE_LIMIT;
# the default 20/h, then one high enough that every registration is
# really made), a Sigil on 127.0.0.1 with open registration and a
# temporary SQLite database, and ROUNDS rounds of three runs:
#
#   alone  the login scenario by itself (C connections);
#   flood  the same, while a second generator floods POST /oauth2/register
#          (FLOOD_C connections, retrying at once on 429);
#          Sigil's busy cores are shown for both login runs;
#   cost   the flood by itself, with Sigil's CPU time read from /proc:
#          the CPU of one answer (nearly all 429 at 20/h).
#
# It prints each run, the login rate ratio flood/alone, the flood's answer
# mix and the CPU per answer, and stops everything it started.
#
#   bench/registration-flood.sh                 # ROUNDS=3 DURATION=10s C=16 FLOOD_C=16
#   LIMITS=20/h ROUNDS=5 bench/registration-flood.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION="${DURATION:-10s}"
C="${C:-16}"
FLOOD_C="${FLOOD_C:-16}"
ROUNDS="${ROUNDS:-3}"
LIMITS="${LIMITS:-20/h 1000000/s}"
GO="${GO:-go}"

echo "building bin/sigil, bin/sigil-load" >&2
"$GO" build -o bin/sigil ./cmd/sigil
"$GO" build -o bin/sigil-load ./cmd/sigil-load

work="$(mktemp -d)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	pids=()
	rm -rf "$work"
}
trap cleanup EXIT
tck=$(getconf CLK_TCK)
cputicks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# field OUT SCENARIO N: column N of the scenario's result line.
# columns: scenario c ok ok/s p50 p99 errors refused rss/peak answers...
field() { awk -v s="$2" -v n="$3" '$1 == s { print $n; exit }' "$1"; }
# cores OUT: how many cores Sigil kept busy during the run (sigil-load -pid).
cores() { sed -n 's/.*target CPU: [0-9]* µs per ok answer, \([0-9.]*\) cores busy.*/\1/p' "$1" | head -1; }
answers() { awk -v s="$2" '$1 == s { for (i = 10; i <= NF; i++) printf "%s%s", $i, (i < NF ? " " : ""); print ""; exit }' "$1"; }

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
for limit in $LIMITS; do
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	base="http://127.0.0.1:$port"
	SIGIL_ADDR=127.0.0.1:$port SIGIL_DATABASE_URL="sqlite:$work/sigil.db" \
		SIGIL_REGISTRATION=open SIGIL_REGISTRATION_RATE_LIMIT="$limit" \
		SIGIL_RATE_LIMIT=0 SIGIL_MAX_HASHES_PER_CLIENT=0 SIGIL_LOCKOUT_THRESHOLD=0 SIGIL_ROTATION_PERIOD=0 \
		bin/sigil serve >"$work/sigil.log" 2>&1 &
	spid=$!
	pids+=($spid)
	for _ in $(seq 1 100); do curl -sf "$base/.well-known/jwks.json" -o /dev/null && break; sleep 0.1; done
	curl -sf "$base/.well-known/jwks.json" -o /dev/null || { echo "registration-flood: Sigil did not start:" >&2; tail -5 "$work/sigil.log" >&2; exit 1; }

	echo
	echo "== SIGIL_REGISTRATION_RATE_LIMIT=$limit: login c=$C, flood c=$FLOOD_C (no pause after 429), $DURATION per run, $ROUNDS rounds"
	printf '%-6s %-6s %10s %9s %9s %7s %10s  %s\n' round run "logins/s" p50 p99 cores "CPU µs/ans" "registration answers"
	alone=0 flooded=0 cpu_us=0 flood_answers=0
	for r in $(seq 1 "$ROUNDS"); do
		bin/sigil-load -addr "$base" -pid "$spid" -scenario login -c "$C" -duration "$DURATION" >"$work/alone.out" 2>&1 || { cat "$work/alone.out" >&2; exit 1; }
		a=$(field "$work/alone.out" login 4)
		printf '%-6s %-6s %10s %9s %9s %7s %10s  %s\n' "$r" alone "$a" "$(field "$work/alone.out" login 5)" "$(field "$work/alone.out" login 6)" "$(cores "$work/alone.out")" - -

		# The flood starts first and runs a little longer, so the whole
		# login run is under it.
		bin/sigil-load -addr "$base" -scenario register -c "$FLOOD_C" -refused-pause 0 \
			-duration "$(awk -v d="${DURATION%s}" 'BEGIN{print d + 4}')s" >"$work/flood.out" 2>&1 &
		fpid=$!
		sleep 2
		bin/sigil-load -addr "$base" -pid "$spid" -scenario login -c "$C" -duration "$DURATION" >"$work/under.out" 2>&1 || { cat "$work/under.out" >&2; exit 1; }
		wait "$fpid" || { cat "$work/flood.out" >&2; exit 1; }
		f=$(field "$work/under.out" login 4)
		printf '%-6s %-6s %10s %9s %9s %7s %10s  %s\n' "$r" flood "$f" "$(field "$work/under.out" login 5)" "$(field "$work/under.out" login 6)" "$(cores "$work/under.out")" - "$(answers "$work/flood.out" register)"

		t0=$(cputicks "$spid")
		bin/sigil-load -addr "$base" -scenario register -c "$FLOOD_C" -refused-pause 0 -duration "$DURATION" >"$work/cost.out" 2>&1 || { cat "$work/cost.out" >&2; exit 1; }
		t1=$(cputicks "$spid")
		n=$(answers "$work/cost.out" register | tr ' ' '\n' | awk -F: '{s += $2} END {print s + 0}')
		us=$(awk -v t="$((t1 - t0))" -v hz="$tck" -v n="$n" 'BEGIN{printf "%.0f", (n > 0 ? t / hz * 1e6 / n : 0)}')
		printf '%-6s %-6s %10s %9s %9s %7s %10s  %s\n' "$r" cost - - - - "$us" "$(answers "$work/cost.out" register)"
		alone=$(awk -v a="$alone" -v b="$a" 'BEGIN{print a + b}')
		flooded=$(awk -v a="$flooded" -v b="$f" 'BEGIN{print a + b}')
		cpu_us=$(awk -v a="$cpu_us" -v b="$((t1 - t0))" 'BEGIN{print a + b}')
		flood_answers=$((flood_answers + n))
	done
	awk -v l="$limit" -v a="$alone" -v f="$flooded" -v n="$ROUNDS" -v t="$cpu_us" -v hz="$tck" -v k="$flood_answers" 'BEGIN{
		printf "limit %s: logins/s alone %.1f, under the flood %.1f, ratio flood/alone %.2f (target >= 0.9); Sigil CPU per registration answer %.0f µs (%d answers)\n",
			l, a/n, f/n, f/a, t/hz*1e6/k, k }'
	echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
	kill "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	pids=()
	rm -f "$work"/sigil.db*
done
