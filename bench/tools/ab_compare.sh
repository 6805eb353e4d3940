#!/usr/bin/env bash
# Compares two builds of the daemons on the brokered echo call, side by side in one run: both
# stacks (broker + echo service) start from state under a temporary directory, and take turns
# (the order swapped every round) running a sequential measurement and a throughput measurement
# with bench_client. Prints, per build, the medians of p50, of each daemon's CPU per sequential
# call (schedstat, every thread, kernel time included) and of calls/s with 64 in flight.
#
# usage: bench/tools/ab_compare.sh DIR_A DIR_B [ROUNDS]
#   DIR_A, DIR_B: directories holding sanlian-broker and sanlian-echo (copy a build's aside first)
# environment: SEQUENTIAL (calls per sequential run, default 5000), MILLISECONDS (per throughput
#   run, default 2000), ECHO_ARGS_A and ECHO_ARGS_B (more arguments for each build's sanlian-echo,
#   default --on-event-loop: set one empty for a build from before that option). Needs
#   `make bench-tools` (for .build/bench/bench_client).
set -euo pipefail
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ $# -lt 2 ]]; then usage >&2; exit 2; fi
a=$(realpath "$1") b=$(realpath "$2") rounds=${3:-8}
sequential=${SEQUENTIAL:-5000} milliseconds=${MILLISECONDS:-2000}
root=$(cd "$(dirname "$0")/../.." && pwd)
client=$root/.build/bench/bench_client
[[ -x $client ]] || { echo "ab_compare: $client is missing; run make bench-tools" >&2; exit 1; }
work=$(mktemp -d /tmp/sanlian-ab.XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

declare -A broker_pid echo_pid
start() { # name dir
    local state=$work/$1 socket=$work/$1/run/broker.sock
    "$2/sanlian-broker" --compose "$root/compose/township.yaml" --state-dir "$state" --log-level warning &
    broker_pid[$1]=$!; pids+=($!)
    for _ in $(seq 100); do [[ -S $socket ]] && break; sleep 0.1; done
    [[ -S $socket ]] || { echo "ab_compare: the broker of $2 did not listen" >&2; exit 1; }
    local extra=${3-}
    # shellcheck disable=SC2086 # the extra arguments are words
    "$2/sanlian-echo" --broker "$socket" --department traffic \
        --credential-file "$state/secrets/traffic.secret" --log-level warning $extra &
    echo_pid[$1]=$!; pids+=($!)
}
run() { # name size sequential inflight ms
    "$client" echo "$work/$1/run/broker.sock" "$2" "$3" "$4" "$5" station "$work/$1/secrets/station.secret"
}
cpu() { awk '{ns += $1} END {printf "%.0f\n", ns}' /proc/"$1"/task/*/schedstat; }

start a "$a" "${ECHO_ARGS_A---on-event-loop}"; start b "$b" "${ECHO_ARGS_B---on-event-loop}"
# The echo service registers in the background: a first call that succeeds says it has.
for name in a b; do
    for _ in $(seq 50); do run "$name" 64 10 1 0 >/dev/null 2>&1 && break; sleep 0.1; done
    run "$name" 64 2000 1 0 >/dev/null; run "$name" 64 0 64 500 >/dev/null
done
results=$work/results
for round in $(seq "$rounds"); do
    order="a b"; (( round % 2 == 0 )) && order="b a"
    echo "ab_compare: round $round of $rounds" >&2
    for name in $order; do
        b0=$(cpu "${broker_pid[$name]}"); e0=$(cpu "${echo_pid[$name]}")
        line=$(run "$name" 64 "$sequential" 1 0)
        b1=$(cpu "${broker_pid[$name]}"); e1=$(cpu "${echo_pid[$name]}")
        calls=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["calls"])' "$line")
        echo "$name seq $(( (b1 - b0) / calls )) $(( (e1 - e0) / calls )) $line" >>"$results"
        echo "$name thr 0 0 $(run "$name" 64 0 64 "$milliseconds")" >>"$results"
    done
done
python3 - "$results" "$a" "$b" <<'PY'
import json, statistics, sys
rows = [line.split(" ", 4) for line in open(sys.argv[1])]
for name, directory in (("a", sys.argv[2]), ("b", sys.argv[3])):
    seq = [r for r in rows if r[0] == name and r[1] == "seq"]
    p50 = [json.loads(r[4])["p50_us"] for r in seq]
    broker = [int(r[2]) / 1000 for r in seq]
    echo = [int(r[3]) / 1000 for r in seq]
    # Throughput runs report no latency; their JSON may hold "inf" for the client's CPU.
    thr = [json.loads(r[4].replace("inf", "0"))["calls_per_second"] for r in rows if r[0] == name and r[1] == "thr"]
    print(f"{name} ({directory}):")
    print(f"  p50 {statistics.median(p50):.1f} µs  (runs: {' '.join(f'{x:.0f}' for x in p50)})")
    print(f"  CPU per sequential call: broker {statistics.median(broker):.1f} µs, echo service {statistics.median(echo):.1f} µs")
    print(f"  calls/s with 64 in flight {statistics.median(thr):.0f}  (runs, k: {' '.join(f'{x / 1000:.0f}' for x in thr)})")
PY
