#!/usr/bin/env bash
# How the sequential round trip depends on the CPU time each hop takes, on this machine: the C
# floor (bench/c/echo_server.c behind bench/c/relay.c) with the relay compiled to busy-wait
# BUSY microseconds on every read it relays (twice a call), a fresh pair of processes per
# setting. Prints, per setting, the p50 of each sequential run (bench_client, 64-byte calls).
#
# usage: bench/tools/placement_sweep.sh [BUSY...]     (default: 0 3 6 10 15)
# environment: RUNS (sequential runs per setting, default 6), CALLS (calls per run, default 5000),
#   BESIDE (busy: a process spins for the client's first 50 ms, as a program starting beside it
#   would; none: the client starts alone; default busy). Needs `make bench-tools`.
#
# On a machine whose idle CPUs sleep, the three processes either follow one another on one CPU
# (each wake-up local) or settle apart (each hop waking a sleeping CPU), and stay as they started
# until something moves them: what runs beside the client as it starts sways which, and more
# CPU per hop moves them apart. docs/PERFORMANCE.md, "Measuring".
set -euo pipefail
if [[ ${1:-} == -h || ${1:-} == --help ]]; then sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0; fi
settings=("$@"); [[ ${#settings[@]} -gt 0 ]] || settings=(0 3 6 10 15)
runs=${RUNS:-6} calls=${CALLS:-5000} beside=${BESIDE:-busy}
[[ $beside == busy || $beside == none ]] || { echo "placement_sweep: BESIDE is busy or none, not '$beside'" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
bench=$root/.build/bench
[[ -x $bench/bench_client && -x $bench/echo_server ]] || { echo "placement_sweep: run make bench-tools first" >&2; exit 1; }
work=$(mktemp -d /tmp/sanlian-sweep.XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
wait_socket() { for _ in $(seq 100); do [[ -S $1 ]] && return 0; sleep 0.05; done; echo "placement_sweep: $1 never appeared" >&2; exit 1; }

for us in "${settings[@]}"; do
    [[ $us =~ ^[0-9]+$ ]] || { echo "placement_sweep: BUSY must be whole microseconds, not '$us'" >&2; exit 2; }
    ${CC:-cc} -O2 -Wall -DRELAY_BUSY_US="$us" -o "$work/relay-$us" "$root/bench/c/relay.c"
    "$bench/echo_server" "$work/e.sock" & pids+=($!); server=$!
    wait_socket "$work/e.sock"
    "$work/relay-$us" "$work/r.sock" "$work/e.sock" & pids+=($!); relay=$!
    wait_socket "$work/r.sock"
    line="busy ${us} µs per hop: p50"
    for _ in $(seq "$runs"); do
        side=
        if [[ $beside == busy ]]; then timeout 0.05 sh -c 'while :; do :; done' & side=$!; fi
        p50=$("$bench/bench_client" raw "$work/r.sock" 64 "$calls" 1 0 | sed -n 's/.*"p50_us": *\([0-9.]*\).*/\1/p')
        line+=" $p50"
        [[ -z $side ]] || wait "$side" 2>/dev/null || true
    done
    echo "$line µs"
    kill "$relay" "$server"; wait "$relay" "$server" 2>/dev/null || true
    rm -f "$work/e.sock" "$work/r.sock"
done
