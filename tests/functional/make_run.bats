#!/usr/bin/env bats
# `make run` (scripts/run.sh) on a fresh state directory: it installs our
# default collection, finds its datasources, starts both halves of phalanxd,
# and an attack appended to the tailed log becomes a ban that `phalanx
# decisions list` shows. Run again on the same state, it starts again.

bats_require_minimum_version 1.5.0

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

setup() {
    BUILD="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}"
    ROOT="${PHALANX_SOURCE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    TMP="$(mktemp -d)"
    export PHALANX_STATE="$TMP/var" PHALANX_LISTEN="127.0.0.1:$(free_port)"
}

teardown() {
    [ -f "$TMP/pid" ] && kill -9 "$(cat "$TMP/pid")" 2>/dev/null || true
    rm -rf "$TMP"
}

start_run() {
    (cd "$ROOT" && exec scripts/run.sh "$BUILD") > "$TMP/run.log" 2>&1 &
    echo $! > "$TMP/pid"
    for _ in $(seq 300); do
        grep -q "alerts go to the Local API" "$TMP/run.log" && return 0
        kill -0 "$(cat "$TMP/pid")" 2>/dev/null || break
        sleep 0.1
    done
    cat "$TMP/run.log" >&2
    return 1
}

stop_run() {
    kill -TERM "$(cat "$TMP/pid")"
    for _ in $(seq 100); do kill -0 "$(cat "$TMP/pid")" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$(cat "$TMP/pid")" 2>/dev/null
    rm -f "$TMP/pid"
}

@test "make run: our collection, both halves, an attack on the tailed log becomes a ban" {
    start_run
    grep -q "phalanx/linux" "$TMP/run.log"
    grep -q "Local API listening" "$TMP/run.log"
    if ! grep -q "tailing .*demo.log" "$TMP/run.log"; then
        stop_run
        skip "this machine has real logs ($(grep 'found:' "$TMP/run.log")): no demo log to attack"
    fi
    now="$(LC_ALL=C date '+%b %e %H:%M:%S')"
    for i in $(seq 8); do
        echo "$now host sshd[$i]: Invalid user admin from 192.0.2.99 port $((4000 + i))"
    done >> "$PHALANX_STATE/log/demo.log"
    for _ in $(seq 100); do
        "$BUILD/src/bin/phalanx" decisions list -c "$PHALANX_STATE/config.yaml" -o raw |
            grep -q '192.0.2.99' && break
        sleep 0.2
    done
    run -0 "$BUILD/src/bin/phalanx" decisions list -c "$PHALANX_STATE/config.yaml" -o raw
    [[ "$output" == *"Ip:192.0.2.99,phalanx/ssh-bf,ban,"* ]]
    stop_run
    # a second start on the same state reuses its credentials and keys
    start_run
    stop_run
}
