#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Instructions per request, cachalot vs redis-server, under valgrind's callgrind.
#
# Each server runs under callgrind with instrumentation off; it is switched on
# (callgrind_control -i on) just before a fixed redis-benchmark workload and the
# counters are dumped (callgrind_control -d) right after, so start-up, key
# loading and shutdown are not counted. Callgrind keeps one profile per thread
# (--separate-threads=yes); the report gives
#   Ir/req all     = instructions of every thread of the server / requests
#   Ir/req busiest = instructions of the busiest thread / requests (with
#                    cachalot --workers 1 that is the worker; for redis the
#                    main thread), which leaves out idle control/timer threads
# requests = 2 x CG_REQUESTS (SET then GET) plus the 2 CONFIG GETs that
# redis-benchmark sends when it starts.
#
# Environment: CACHALOT (default build/control/cachalot), REDIS (redis-server),
# CG_REQUESTS (20000 per command), CG_PIPELINE (16), CG_DATA (32), CG_PORT (7500),
# BENCH_SAVE=0 skips writing the table to bench/results/, CG_KEEP=1 keeps the callgrind.out files (their directory is printed) for
# callgrind_annotate / kcachegrind.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHALOT="${CACHALOT:-$root/build/control/cachalot}"
REDIS="${REDIS:-redis-server}"
N="${CG_REQUESTS:-20000}"
PIPE="${CG_PIPELINE:-16}"
DATA="${CG_DATA:-32}"
port="${CG_PORT:-7500}"

for tool in valgrind callgrind_control redis-benchmark redis-cli; do
	command -v "$tool" >/dev/null || { echo "callgrind.sh: $tool not found" >&2; exit 2; }
done
for b in "$CACHALOT" "$REDIS"; do
	command -v "$b" >/dev/null || { echo "callgrind.sh: not an executable: $b" >&2; exit 2; }
done
ckind="${CACHALOT_KIND:-}"
if [ -z "$ckind" ]; then
	case "$(basename "$CACHALOT")" in *redis*) ckind=redis ;; *) ckind=cachalot ;; esac
fi

work="$(mktemp -d /tmp/cachalot-callgrind.XXXXXX)"
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null || true
	done
	if [ "${CG_KEEP:-0}" = 1 ]; then
		echo "callgrind files kept in $work" >&2
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

results=()

run_one() { # label binary kind
	local label="$1" bin="$2" kind="$3" args pid i f tot max sum nthreads reqs
	while ! port_free "$port"; do port=$((port + 1)); done
	if [ "$kind" = cachalot ]; then
		# valgrind does not emulate io_uring's timed waits, so an idle
		# worker would never see callgrind_control; count the epoll
		# transport (the engine above the socket is the same code).
		args=(--port "$port" --workers 1 --kernel-io epoll)
	else
		args=(--port "$port" --save "" --appendonly no)
	fi
	echo "== $label: valgrind --tool=callgrind $bin ${args[*]}" >&2
	(cd "$work" && exec valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes \
		--callgrind-out-file="$work/$label.%p" "$bin" "${args[@]}") >"$work/$label.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	for i in $(seq 1 240); do
		[ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] && break
		kill -0 "$pid" 2>/dev/null || { cat "$work/$label.log" >&2; exit 1; }
		sleep 0.5
	done
	[ "$(redis-cli -p "$port" PING 2>/dev/null)" = PONG ] || { echo "$label did not start" >&2; exit 1; }

	callgrind_control -i on "$pid" >/dev/null 2>&1 || { echo "callgrind_control failed" >&2; exit 1; }
	redis-benchmark -h 127.0.0.1 -p "$port" -n "$N" -P "$PIPE" -t set,get -c 1 -d "$DATA" -q \
		>"$work/$label.bench" 2>&1
	callgrind_control -d "$pid" >/dev/null 2>&1 || { echo "callgrind_control -d failed" >&2; exit 1; }
	callgrind_control -i off "$pid" >/dev/null 2>&1 || true
	redis-cli -p "$port" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
	for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
	kill -TERM "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true

	sum=0 max=0 nthreads=0
	for f in "$work/$label.$pid".1-*; do
		[ -e "$f" ] || continue
		tot=$(awk '/^totals:/ {print $2; exit}' "$f")
		tot=${tot:-0}
		sum=$((sum + tot))
		[ "$tot" -gt "$max" ] && max=$tot
		nthreads=$((nthreads + 1))
	done
	[ "$nthreads" -gt 0 ] || { echo "$label: no callgrind dump found" >&2; exit 1; }
	reqs=$((2 * N + 2))
	results+=("$label $reqs $sum $max $nthreads")
	port=$((port + 1))
}

run_one cachalot "$CACHALOT" "$ckind"
run_one redis "$REDIS" redis

report() {
	printf '\ncallgrind: redis-benchmark -n %s -P %s -t set,get -c 1 -d %s (fixed keys); cachalot %s\n' \
		"$N" "$PIPE" "$DATA" "$( [ "$ckind" = cachalot ] && echo '--workers 1 --kernel-io epoll' || echo "($CACHALOT)")"
	printf '%-10s %10s %16s %14s %16s %8s\n' server requests "Ir (all thr)" "Ir/req all" "Ir/req busiest" threads
	printf '%s\n' "${results[@]}" | awk '
		{ label[NR] = $1; reqs[NR] = $2; sum[NR] = $3; max[NR] = $4; thr[NR] = $5 }
		END {
			for (i = 1; i <= NR; i++)
				printf "%-10s %10d %16d %14.0f %16.0f %8d\n", label[i], reqs[i], sum[i],
					sum[i] / reqs[i], max[i] / reqs[i], thr[i]
			printf "%-10s %10s %16s %14.2f %16.2f\n", "ratio", "", "c/r",
				(sum[1] / reqs[1]) / (sum[2] / reqs[2]), (max[1] / reqs[1]) / (max[2] / reqs[2])
		}'
}

if [ "${BENCH_SAVE:-1}" = 1 ]; then
	mkdir -p "$root/bench/results"
	out="$root/bench/results/callgrind-$(date +%Y%m%d-%H%M%S).txt"
	report | tee "$out"
	echo "saved to $out" >&2
else
	report
fi
