#!/usr/bin/env bash
# Starts what exists of the township in this terminal until the launcher (`sanlian up`) does it:
# the broker, then, once it listens, the department services built so far. Their logs go to the
# terminal; Ctrl-C (or any one of them exiting) stops them all.
#
# usage: scripts/run-township.sh BIN_DIR COMPOSE_FILE STATE_DIR
set -euo pipefail
bin=$1 compose=$2 state=$3
services=(sanlian-patrol sanlian-hazards sanlian-residents)
pids=()
stop() {
    trap - EXIT INT TERM
    kill "${pids[@]}" 2>/dev/null || true
    wait 2>/dev/null || true
}
trap stop EXIT INT TERM

"$bin/sanlian-broker" --compose "$compose" --state-dir "$state" &
pids+=($!)
socket=$state/run/broker.sock
for _ in $(seq 200); do
    [[ -S $socket ]] && break
    kill -0 "${pids[0]}" 2>/dev/null || exit 1
    sleep 0.05
done
[[ -S $socket ]] || { echo "run-township: the broker did not listen on $socket" >&2; exit 1; }
for service in "${services[@]}"; do
    "$bin/$service" --compose "$compose" --state-dir "$state" &
    pids+=($!)
done
echo "run-township: sanlian-broker and ${services[*]} running; Ctrl-C stops them." >&2
# Whichever exits first ends the township: a service that cannot start is not left unnoticed.
wait -n
