#!/bin/sh
# bench/lapi/run.sh BUILD - the Local API under a bouncer's load, Phalanx vs
# CrowdSec 1.4.6 (Debian): N active decisions (default 100k, one alert posted
# by a machine as `cscli decisions import` does), then
#   - wrk, 32 connections: GET /v1/decisions?ip=<one of the banned IPs>
#   - the stream's startup answer (GET /v1/decisions/stream?startup=true): time, size
#   - the server's peak RSS, and what it was once the alerts were loaded
# and prints the two side by side with the ratio. PEER=0 skips CrowdSec.
# Not a test: numbers depend on the machine (2 shared cores here).
set -eu
build=$(cd "${1:-build}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib_crowdsec.sh"
N=${N:-100000}
DURATION=${DURATION:-10s}
PEER=${PEER:-1}
phalanx="$build/src/bin/phalanx"
phalanxd="$build/src/bin/phalanxd"
T=$(mktemp -d)
trap 'kill $(cat "$T"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$T"' EXIT

command -v wrk >/dev/null || { echo "bench/lapi: wrk is missing (scripts/setup.sh bench)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# N ban decisions on 10.x.y.z, as cscli's import posts them (100k per alert).
python3 "$here/alert.py" "$N" "$T"
sed "s/@N@/$N/" "$here/ips.lua" > "$T/ips.lua"

# load URL LOGIN PASSWORD: logs in as the machine and posts the alerts; prints the seconds it took.
load() {
    token=$(curl -sf -X POST "$1/v1/watchers/login" -H 'Content-Type: application/json' \
        -d "{\"machine_id\":\"$2\",\"password\":\"$3\",\"scenarios\":[]}" | jq -r .token)
    start=$(date +%s.%N)
    for f in "$T"/alert-*.json; do
        curl -sf -o /dev/null -X POST "$1/v1/alerts" -H "Authorization: Bearer $token" \
            -H 'Content-Type: application/json' --data-binary @"$f"
    done
    echo "$(date +%s.%N) - $start" | bc
}

# measure NAME URL KEY PID: req/s, p99, stream startup seconds, bytes, decisions, peak RSS (KiB).
measure() {
    BENCH_KEY=$3 wrk -t2 -c32 -d"$DURATION" --latency -s "$T/ips.lua" "$2" > "$T/$1.wrk"
    rps=$(awk '/Requests\/sec/ {print $2}' "$T/$1.wrk")
    p99=$(awk '$1 == "99%" {print $2}' "$T/$1.wrk")
    stream=$(curl -s -o "$T/$1.stream" -w '%{time_total}' -H "X-Api-Key: $3" \
        "$2/v1/decisions/stream?startup=true")
    size=$(wc -c < "$T/$1.stream")
    count=$(jq '.new | length' "$T/$1.stream")
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$4/status")
    echo "$rps $p99 $stream $size $count $rss"
}

# --- Phalanx ---
port=$(free_port)
mkdir -p "$T/ph"
printf 'api:\n  server:\n    listen_uri: 127.0.0.1:%s\n    profiles_path: %s\ndb_config:\n  type: sqlite\n  db_path: %s\n' \
    "$port" "$(cd "$here/../.." && pwd)/config/profiles.yaml" "$T/ph/phalanx.db" > "$T/ph/config.yaml"
"$phalanx" machines add bench -p benchpassword -c "$T/ph/config.yaml" 2>/dev/null
key=$("$phalanx" bouncers add bench -o raw -c "$T/ph/config.yaml")
"$phalanxd" -c "$T/ph/config.yaml" -no-cs > "$T/ph/run.log" 2>&1 &
echo $! > "$T/ph.pid"
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
ph_load=$(load "http://127.0.0.1:$port" bench benchpassword)
ph_load_rss=$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$T/ph.pid")/status")
ph=$(measure ph "http://127.0.0.1:$port" "$key" "$(cat "$T/ph.pid")")

# --- CrowdSec 1.4.6 ---
cs="- - - - - -"
cs_load="-"
cs_load_rss="-"
if [ "$PEER" != 0 ] && cs_ready; then
    cs_setup "$T/cs" >/dev/null
    cskey=$(cscli -c "$T/cs/config.yaml" bouncers add bench -o raw 2>/dev/null)
    csport=$(awk '/listen_uri/ {split($2, a, ":"); print a[2]}' "$T/cs/config.yaml")
    crowdsec -c "$T/cs/config.yaml" -no-cs > "$T/cs/lapi.log" 2>&1 &
    echo $! > "$T/cs.pid"
    for _ in $(seq 300); do curl -s "http://127.0.0.1:$csport/health" >/dev/null && break; sleep 0.1; done
    login=$(awk '/^login:/ {print $2}' "$T/cs/etc/local_api_credentials.yaml")
    pw=$(awk '/^password:/ {print $2}' "$T/cs/etc/local_api_credentials.yaml")
    cs_load=$(load "http://127.0.0.1:$csport" "$login" "$pw")
    cs_load_rss=$(awk '/VmHWM/ {print $2}' "/proc/$(cat "$T/cs.pid")/status")
    cs=$(measure cs "http://127.0.0.1:$csport" "$cskey" "$(cat "$T/cs.pid")")
fi

echo "Local API, $N active decisions, wrk -t2 -c32 -d$DURATION GET /v1/decisions?ip= (random banned IP)"
python3 "$here/report.py" "$ph_load $ph $ph_load_rss" "$cs_load $cs $cs_load_rss"
