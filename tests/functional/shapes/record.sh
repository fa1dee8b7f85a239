#!/bin/sh
# record.sh - records the JSON shapes (keys and types, no values: shape.jq)
# that Debian's cscli 1.4.6 prints, into the *.json files beside this script,
# for tests/functional/cli_shapes.bats to compare phalanx's output with.
#
# It runs a real CrowdSec Local API offline (`crowdsec -no-cs`, a throw-away
# config and SQLite db from bench/lib_crowdsec.sh, on a loopback port), with:
# - the machine `bench` (cscli machines add --auto) and a bouncer `fw1`;
# - a manual decision (`cscli decisions add -i 198.51.100.9 -d 2h`);
# - alert.json (an ssh-bf alert with events, meta and a full source) pushed
#   as the agent pushes it (POST /v1/alerts with the machine's token, no
#   decisions: Debian's default profile adds a 4h ban);
# - the crowdsecurity/sshd collection installed from Debian's own hub
#   (/usr/share/crowdsec/hub) as symlinks, the way the package's postinst does.
# cli_shapes.bats builds the same state against phalanxd and compares.
#
# Usage: [RECORD_RAW=DIR] tests/functional/shapes/record.sh   (needs crowdsec, cscli, jq, curl,
# python3; run it again after a cscli upgrade and review the diff).
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../../.." && pwd)
# shellcheck source=../../../bench/lib_crowdsec.sh
. "$SRC/bench/lib_crowdsec.sh"
cs_ready || {
    echo "record.sh: Debian's crowdsec/cscli 1.4.6 with its hub is needed" >&2
    exit 1
}

T=$(mktemp -d)
PID=""
cleanup() {
    [ -z "$PID" ] || kill "$PID" 2>/dev/null || true
    [ -z "$PID" ] || wait "$PID" 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

# shellcheck disable=SC2046
cs_setup "$T" $(cs_resolve collections/crowdsecurity/sshd)
ln -s "$CS_HUB/collections/crowdsecurity/sshd.yaml" "$T/etc/collections/sshd.yaml"
CS="cscli -c $T/config.yaml"
PORT=$(sed -n 's/^ *listen_uri: 127.0.0.1://p' "$T/config.yaml")
URL="http://127.0.0.1:$PORT"

crowdsec -c "$T/config.yaml" -no-cs > "$T/crowdsec.log" 2>&1 &
PID=$!
i=0
until curl -s -o /dev/null "$URL/v1/decisions"; do
    i=$((i + 1))
    if [ "$i" -gt 100 ]; then
        cat "$T/crowdsec.log" >&2
        exit 1
    fi
    sleep 0.1
done

$CS bouncers add fw1 -k 0123456789abcdef0123456789abcdef > /dev/null
# The operator's manual decision first, then the agent logs in with its
# scenarios (which the machine keeps: a login without scenarios, as cscli's,
# leaves them alone) and pushes.
$CS decisions add -i 198.51.100.9 -d 2h -R 'manual ban' > /dev/null 2>&1
# The machine's token, as the agent logs in, then the alert as it pushes it.
PW=$(sed -n 's/^password: *//p' "$T/etc/local_api_credentials.yaml")
TOKEN=$(curl -sf -X POST -H 'Content-Type: application/json' \
    -d "{\"machine_id\":\"bench\",\"password\":\"$PW\",\"scenarios\":[\"crowdsecurity/ssh-bf\"]}" \
    "$URL/v1/watchers/login" | jq -r .token)
# Stamped now: CrowdSec 1.4 makes decisions last from stop_at.
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
jq --arg now "$NOW" 'map(.start_at = $now | .stop_at = $now | .events[].timestamp = $now)' \
    "$HERE/alert.json" |
    curl -sf -X POST -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        --data-binary @- "$URL/v1/alerts" > /dev/null
ALERT_ID=$($CS alerts list -o json | jq '[.[] | select(.scenario == "crowdsecurity/ssh-bf")][0].id')

# RECORD_RAW=DIR also keeps cscli's documents themselves there, to look at.
shape() {
    if [ -n "${RECORD_RAW:-}" ]; then
        mkdir -p "$RECORD_RAW"
        tee "$RECORD_RAW/$1.json" | jq -S -f "$HERE/shape.jq" > "$HERE/$1.json"
    else
        jq -S -f "$HERE/shape.jq" > "$HERE/$1.json"
    fi
    echo "recorded $1.json"
}

$CS decisions list -o json | shape decisions_list
$CS alerts list -o json | shape alerts_list
$CS alerts inspect -o json "$ALERT_ID" | shape alerts_inspect
$CS bouncers list -o json | shape bouncers_list
$CS machines list -o json | shape machines_list
$CS collections list -o json | shape collections_list
$CS hub list -o json | shape hub_list
