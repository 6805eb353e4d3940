#!/usr/bin/env bash
# Splits the gap between the C floor and Sanlian: the same sequential 64-byte round trip through
# four stacks side by side, pinned alike (taskset), taking turns round after round:
#   c      bench/c/relay.c in front of bench/c/echo_server.c
#   epoll  epoll-floor: the same relay and echo server in Swift on epoll, without SwiftNIO
#   nio    nio-floor: the same relay and echo server on bare SwiftNIO
#   sanlian  sanlian-broker in front of sanlian-echo (the brokered call of make bench)
# in two layouts: all processes on CPU 0 ("one CPU"), and the client on CPU 0 with the relay or
# broker and the echo server or service on CPU 1 ("apart"). Prints each stack's median p50 and its
# ratio to the C floor's, and the median CPU per call of its relay and echo together (kernel
# time included). See docs/PERFORMANCE.md, "Latest figures".
#
# usage: bench/tools/floors.sh [ROUNDS]
# environment: BIN_DIR (release builds of epoll-floor, nio-floor, sanlian-broker and sanlian-echo;
#   default: swift build's release directory), SEQUENTIAL (calls per measurement, default 20000).
#   Needs make bench-tools (the C floor and the load generator) and a machine with two CPUs.
set -euo pipefail
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; }
if [[ ${1:-} == -h || ${1:-} == --help ]]; then usage; exit 0; fi
if [[ $# -gt 1 ]]; then usage >&2; exit 2; fi
rounds=${1:-6} sequential=${SEQUENTIAL:-20000}
[[ $rounds =~ ^[1-9][0-9]*$ ]] || { echo "floors: ROUNDS must be a positive number, not $rounds" >&2; exit 2; }
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${BIN_DIR:-$root/.build/x86_64-unknown-linux-gnu/release}
c=$root/.build/bench
for tool in "$c/bench_client" "$c/relay" "$c/echo_server" "$bin/epoll-floor" "$bin/nio-floor" \
    "$bin/sanlian-broker" "$bin/sanlian-echo"; do
    [[ -x $tool ]] || { echo "floors: $tool is missing; run make bench-tools" >&2; exit 1; }
done
work=$(mktemp -d /tmp/sanlian-floors.XXXXXX)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

wait_socket() { # path
    for _ in $(seq 200); do [[ -S $1 ]] && return; sleep 0.05; done
    echo "floors: nothing listens on $1" >&2; exit 1
}
declare -A daemons
background() { # stack command...
    local stack=$1; shift
    "$@" & pids+=($!); daemons[$stack]="${daemons[$stack]:-} $!"
}
background c "$c/echo_server" "$work/c-e.sock"; wait_socket "$work/c-e.sock"
background c "$c/relay" "$work/c-r.sock" "$work/c-e.sock"
for floor in epoll nio; do
    background $floor "$bin/$floor-floor" echo "$work/$floor-e.sock"; wait_socket "$work/$floor-e.sock"
    background $floor "$bin/$floor-floor" relay "$work/$floor-r.sock" "$work/$floor-e.sock"
done
state=$work/var
background sanlian "$bin/sanlian-broker" --compose "$root/compose/township.yaml" --state-dir "$state" \
    --log-level warning
wait_socket "$state/run/broker.sock"
background sanlian "$bin/sanlian-echo" --broker "$state/run/broker.sock" --department traffic \
    --credential-file "$state/secrets/traffic.secret" --on-event-loop --log-level warning
wait_socket "$work/c-r.sock"; wait_socket "$work/epoll-r.sock"; wait_socket "$work/nio-r.sock"
call() { # stack client-cpu calls
    case $1 in
    sanlian) taskset -c "$2" "$c/bench_client" echo "$state/run/broker.sock" 64 "$3" 1 0 \
        station "$state/secrets/station.secret" ;;
    *) taskset -c "$2" "$c/bench_client" raw "$work/$1-r.sock" 64 "$3" 1 0 ;;
    esac
}
for _ in $(seq 100); do call sanlian 0 1 >/dev/null 2>&1 && break; sleep 0.1; done
call sanlian 0 1 >/dev/null || { echo "floors: the echo service did not register" >&2; exit 1; }
cpu() { awk '{ns += $1} END {printf "%.0f\n", ns}' $(for p in $1; do echo /proc/"$p"/task/*/schedstat; done); }

stacks=(c epoll nio sanlian)
for layout in "one CPU:0" "apart:1"; do
    name=${layout%:*} daemon_cpu=${layout#*:}
    for stack in "${stacks[@]}"; do for pid in ${daemons[$stack]}; do taskset -a -p -c "$daemon_cpu" "$pid" >/dev/null; done; done
    declare -A p50s=() cpus=()
    for round in $(seq "$rounds"); do
        echo "floors: $name, round $round of $rounds" >&2
        for stack in "${stacks[@]}"; do
            before=$(cpu "${daemons[$stack]}")
            out=$(call "$stack" 0 "$sequential")
            after=$(cpu "${daemons[$stack]}")
            calls=$(sed -E 's/.*"calls": ([0-9]+).*/\1/' <<<"$out")
            p50s[$stack]+="$(sed -E 's/.*"p50_us": ([0-9.]+).*/\1/' <<<"$out") "
            cpus[$stack]+="$(awk -v d=$((after - before)) -v n="$calls" 'BEGIN {printf "%.1f", d / n / 1000}') "
        done
    done
    median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
    floor=$(median "${p50s[c]}")
    echo "$name: median p50 (µs), ratio to the C floor, relay + echo CPU per call (µs); each round's p50"
    for stack in "${stacks[@]}"; do
        p50=$(median "${p50s[$stack]}")
        printf '  %-8s %6.1f  %5.2f×  %5.1f   %s\n' "$stack" "$p50" "$(awk -v a="$p50" -v b="$floor" 'BEGIN {print a / b}')" \
            "$(median "${cpus[$stack]}")" "${p50s[$stack]}"
    done
done
