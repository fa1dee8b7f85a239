#!/usr/bin/env bats
# Durability of the Local API on SQLite: phalanxd is killed with SIGKILL in
# the middle of a stream of POST /v1/alerts; after a restart every alert
# that got a 201 is there with its decision (GET /v1/decisions and the
# startup stream of a bouncer), and the database passes integrity_check.
# Then the file-size limit of the process (ulimit -f, with SIGXFSZ ignored
# so write() fails with EFBIG instead of killing it) stands in for a full
# disk: writes fail with a 5xx and a message, reads go on, and nothing that
# was stored before is lost. Run with PHALANX_BUILD set to a build directory.

bats_require_minimum_version 1.5.0

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

integrity() {
    if command -v sqlite3 >/dev/null; then
        sqlite3 "$1" 'PRAGMA integrity_check'
    else
        python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA integrity_check").fetchone()[0])' "$1"
    fi
}

start_daemon() {
    "$PHALANXD" -c "$LTMP/config.yaml" >> "$LTMP/phalanxd.log" 2>&1 &
    echo $! > "$LTMP/pid"
    for _ in $(seq 100); do
        curl -sf "$URL/health" >/dev/null && return 0
        sleep 0.1
    done
    cat "$LTMP/phalanxd.log" >&2
    return 1
}

stop_daemon() {
    if [ -f "$LTMP/pid" ]; then
        kill -TERM "$(cat "$LTMP/pid")" 2>/dev/null || true
        wait "$(cat "$LTMP/pid")" 2>/dev/null || true
        rm -f "$LTMP/pid"
    fi
}

setup_file() {
    export PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    export PHALANXD="$PHALANX_BUILD/src/bin/phalanxd"
    export LTMP="$(mktemp -d)"
    export PORT="$(free_port)"
    export URL="http://127.0.0.1:$PORT"
    export DB="$LTMP/phalanx.db"
    cat > "$LTMP/config.yaml" <<YAML
api:
  server:
    listen_uri: 127.0.0.1:$PORT
db_config:
  type: sqlite
  db_path: $DB
YAML
    export KEY="$("$PHALANX" bouncers add fw1 -o raw -c "$LTMP/config.yaml")"
    "$PHALANX" machines add agent1 -p 'S3cret!pw' -c "$LTMP/config.yaml" 2>/dev/null
}

teardown_file() {
    stop_daemon
    [ -n "${KEEP_LAPI_TMP:-}" ] || rm -rf "$LTMP"
}

token() {
    curl -s "$URL/v1/watchers/login" -A 'crowdsec/v1.6.0' \
        -d '{"machine_id":"agent1","password":"S3cret!pw"}' | jq -r .token
}

alert_json() { # ip
    local now
    now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    cat <<JSON
[{"capacity":5,"events":[],"events_count":6,"leakspeed":"10s","message":"durability $1","scenario":"crowdsecurity/ssh-bf",
  "scenario_hash":"abc","scenario_version":"0.1","simulated":false,"remediation":true,
  "start_at":"$now","stop_at":"$now","source":{"scope":"Ip","value":"$1","ip":"$1"},
  "decisions":[{"duration":"4h","origin":"cscli","scenario":"durability","scope":"Ip","type":"ban","value":"$1"}]}]
JSON
}

# Posts alerts for 10.77.<i/250>.<i%250> until a POST fails; each 201 is appended to $1.
post_stream() {
    local tok="$1" acked="$2" i=0 code
    while [ "$i" -lt 5000 ]; do
        ip="10.77.$((i / 250)).$((i % 250 + 1))"
        code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -H "Authorization: Bearer $tok" \
            "$URL/v1/alerts" -d "$(alert_json "$ip")")" || true
        [ "$code" = 201 ] || break
        echo "$ip" >> "$acked"
        i=$((i + 1))
    done
}

@test "kill -9 during a stream of alert POSTs: every acknowledged decision survives" {
    start_daemon
    tok="$(token)"
    [ -n "$tok" ] && [ "$tok" != null ]
    : > "$LTMP/acked"
    post_stream "$tok" "$LTMP/acked" &
    writer=$!
    # let a good number of writes through, then kill without warning mid-stream
    for _ in $(seq 300); do
        [ "$(wc -l < "$LTMP/acked")" -ge 60 ] && break
        sleep 0.05
    done
    kill -9 "$(cat "$LTMP/pid")"
    wait "$(cat "$LTMP/pid")" 2>/dev/null || true
    rm -f "$LTMP/pid"
    wait "$writer" || true
    acked="$(wc -l < "$LTMP/acked")"
    [ "$acked" -ge 60 ]

    run -0 integrity "$DB"
    [ "$output" = ok ]
    start_daemon
    curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions" | jq -r '.[].value' | sort -u > "$LTMP/have"
    missing="$(sort -u "$LTMP/acked" | comm -23 - "$LTMP/have")"
    if [ -n "$missing" ]; then
        echo "lost after kill -9: $missing" >&2
        return 1
    fi
    # one by one as a bouncer asks, for a sample
    for ip in $(head -3 "$LTMP/acked") $(tail -3 "$LTMP/acked"); do
        [ "$(curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=$ip" | jq -r '.[0].value')" = "$ip" ]
    done
    # the startup stream of a bouncer has them all, and the next pull is empty
    curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream?startup=true" | jq -r '.new[].value' | sort -u > "$LTMP/stream"
    [ -z "$(sort -u "$LTMP/acked" | comm -23 - "$LTMP/stream")" ]
    [ "$(curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream")" = '{"deleted":null,"new":null}' ]
    # the alerts themselves are there too
    tok="$(token)"
    n="$(curl -s -H "Authorization: Bearer $tok" "$URL/v1/alerts?scenario=crowdsecurity/ssh-bf&limit=0" | jq length)"
    [ "$n" -ge "$acked" ]
    stop_daemon
    run -0 integrity "$DB"
    [ "$output" = ok ]
}

@test "a full disk (ulimit -f) fails writes with a 5xx and a message; stored decisions survive" {
    before="$(sqlite3 "$DB" 'SELECT count(*) FROM decisions' 2>/dev/null || echo 0)"
    [ "$before" -gt 0 ]
    size_kb=$(( ($(stat -c %s "$DB") + 1023) / 1024 ))
    # a little room above the current size: the WAL and the database stop growing soon
    ( trap '' XFSZ; ulimit -f $((size_kb + 48)); exec "$PHALANXD" -c "$LTMP/config.yaml" ) \
        >> "$LTMP/phalanxd.log" 2>&1 &
    echo $! > "$LTMP/pid"
    for _ in $(seq 100); do
        curl -sf "$URL/health" >/dev/null && break
        sleep 0.1
    done
    tok="$(token)"
    [ -n "$tok" ] && [ "$tok" != null ]
    code=201
    for i in $(seq 2000); do
        ip="10.88.$((i / 250)).$((i % 250 + 1))"
        code="$(curl -s -o "$LTMP/body" -w '%{http_code}' -H "Authorization: Bearer $tok" \
            "$URL/v1/alerts" -d "$(alert_json "$ip")")"
        [ "$code" = 201 ] || break
    done
    [[ "$code" == 50[07] ]]
    [ -n "$(jq -r .message "$LTMP/body")" ]
    # reads still work while writes fail
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=10.77.0.1")" = 200 ]
    # the daemon is still alive
    kill -0 "$(cat "$LTMP/pid")"
    stop_daemon
    run -0 integrity "$DB"
    [ "$output" = ok ]
    after="$(sqlite3 "$DB" 'SELECT count(*) FROM decisions')"
    [ "$after" -ge "$before" ]
    # with room again, it works
    start_daemon
    tok="$(token)"
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$URL/v1/alerts" -d "$(alert_json 10.99.0.1)")" = 201 ]
    stop_daemon
}
