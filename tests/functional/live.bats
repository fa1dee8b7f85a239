#!/usr/bin/env bats
# `phalanxd -c config.yaml` in live mode: the agent tails the files of
# acquis.yaml and alerts on the wall clock; with both halves the alert becomes
# a decision a bouncer sees; an outage of the Local API plus a restart of the
# agent loses no alert and duplicates none (the pusher's disk spool).
# Needs PHALANX_BUILD and the hub ($HUB) for the sshd items; skips without it.

bats_require_minimum_version 1.5.0

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

setup() {
    PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    PHALANXD="$PHALANX_BUILD/src/bin/phalanxd"
    ROOT="${PHALANX_SOURCE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    export PHALANX_SOURCE_ROOT="$ROOT"
    HUBDIR="${HUB:-$ROOT/../shared/hub}"
    [ -f "$HUBDIR/scenarios/crowdsecurity/ssh-bf.yaml" ] || skip "no hub at $HUBDIR"
    TMP="$(mktemp -d)"
    PORT="$(free_port)"
    URL="http://127.0.0.1:$PORT"
    local c="$TMP/etc"
    mkdir -p "$c/parsers/s00-raw" "$c/parsers/s01-parse" "$c/parsers/s02-enrich" "$c/scenarios" \
        "$TMP/data"
    ln -s "$HUBDIR/parsers/s00-raw/crowdsecurity/syslog-logs.yaml" "$c/parsers/s00-raw/"
    ln -s "$HUBDIR/parsers/s01-parse/crowdsecurity/sshd-logs.yaml" "$c/parsers/s01-parse/"
    ln -s "$HUBDIR/parsers/s02-enrich/crowdsecurity/dateparse-enrich.yaml" "$c/parsers/s02-enrich/"
    ln -s "$HUBDIR/scenarios/crowdsecurity/ssh-bf.yaml" "$c/scenarios/"
    ln -s "$HUBDIR/patterns" "$c/patterns"
    cat > "$c/acquis.yaml" <<EOT
filenames:
  - $TMP/log/auth.log
labels:
  type: syslog
EOT
    cat > "$c/profiles.yaml" <<'EOT'
name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
on_success: break
EOT
    cat > "$c/config.yaml" <<EOT
config_paths:
  config_dir: $c
  data_dir: $TMP/data
  hub_dir: $HUBDIR
crowdsec_service:
  acquisition_path: $c/acquis.yaml
api:
  client:
    credentials_path: $c/local_api_credentials.yaml
  server:
    listen_uri: 127.0.0.1:$PORT
    profiles_path: $c/profiles.yaml
db_config:
  type: sqlite
  db_path: $TMP/data/phalanx.db
EOT
    CONFIG="$c/config.yaml"
    mkdir -p "$TMP/log"
    : > "$TMP/log/auth.log"
}

teardown() {
    for p in "$TMP"/*.pid; do
        [ -f "$p" ] && kill -9 "$(cat "$p")" 2>/dev/null || true
    done
    rm -rf "$TMP"
}

# Starts phalanxd with the given flags in the background as NAME; waits for LINE in its log.
start_daemon() {
    local name=$1 wait_for=$2
    shift 2
    "$PHALANXD" -c "$CONFIG" "$@" > "$TMP/$name.log" 2>&1 &
    echo $! > "$TMP/$name.pid"
    wait_for_log "$name" "$wait_for"
}

wait_for_log() {
    local name=$1 text=$2
    for _ in $(seq 200); do
        grep -q -- "$text" "$TMP/$name.log" && return 0
        kill -0 "$(cat "$TMP/$name.pid")" 2>/dev/null || break
        sleep 0.1
    done
    echo "--- $name.log" >&2
    cat "$TMP/$name.log" >&2
    return 1
}

# Stops NAME with SIGTERM and checks it exits 0 within 15 s.
stop_daemon() {
    local pid
    pid="$(cat "$TMP/$1.pid")"
    kill -TERM "$pid"
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    ! kill -0 "$pid" 2>/dev/null
    wait "$pid"
    rm -f "$TMP/$1.pid"
}

# N invalid-user lines from IP with the current time, appended to the tailed log.
attack() {
    local ip=$1 n=$2 now
    now="$(LC_ALL=C date '+%b %e %H:%M:%S')"
    for i in $(seq "$n"); do
        echo "$now host sshd[$((100 + i))]: Invalid user admin from $ip port $((4000 + i))"
    done >> "$TMP/log/auth.log"
}

# Waits until the alerts file has an alert for IP.
wait_alert_file() {
    for _ in $(seq 100); do
        grep -q "\"$1\"" "$TMP/alerts.json" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

machine() {
    "$PHALANX" machines add agent1 -p 'S3cret!pw-live' -c "$CONFIG" >/dev/null
    printf 'url: %s\nlogin: agent1\npassword: S3cret!pw-live\n' "$URL/" \
        > "$TMP/etc/local_api_credentials.yaml"
    KEY="$("$PHALANX" bouncers add fw -o raw -c "$CONFIG")"
}

# Alerts for IP stored by the Local API (via the bouncer's decisions: one ban per alert).
decisions_for() {
    curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=$1" | jq -r 'if . == null then 0 else length end'
}

wait_decision() {
    for _ in $(seq "${2:-150}"); do
        [ "$(decisions_for "$1")" -ge 1 ] && return 0
        sleep 0.5
    done
    return 1
}

@test "live: a tailed log alerts on ssh-bf at once, a quiet IP does not" {
    start_daemon agent "datasource file" -no-api -alerts-file "$TMP/alerts.json"
    attack 1.2.3.4 8
    attack 5.6.7.8 2
    wait_alert_file 1.2.3.4
    stop_daemon agent
    run -0 jq -r '.scenario + " " + .source.value' "$TMP/alerts.json"
    [ "$output" = "crowdsecurity/ssh-bf 1.2.3.4" ]
}

@test "live: lines appended while the file is rotated are all read" {
    start_daemon agent "datasource file" -no-api -alerts-file "$TMP/alerts.json"
    attack 1.2.3.4 3
    mv "$TMP/log/auth.log" "$TMP/log/auth.log.1"
    : > "$TMP/log/auth.log"
    attack 1.2.3.4 3
    wait_alert_file 1.2.3.4
    stop_daemon agent
    run -0 jq -r '.events_count' "$TMP/alerts.json"
    [ "$output" = 6 ]
}

@test "live: with both halves an alert becomes a ban a bouncer sees" {
    machine
    start_daemon both "Local API listening"
    wait_for_log both "datasource file"
    attack 9.9.9.9 8
    wait_decision 9.9.9.9 40
    stop_daemon both
}

@test "live: Local API down, agent restarted: every alert arrives exactly once" {
    machine
    start_daemon lapi "Local API listening" -no-cs
    start_daemon agent "datasource file" -no-api
    attack 10.0.0.1 8
    wait_decision 10.0.0.1 40
    stop_daemon lapi
    attack 10.0.0.2 8
    # The tailer reads appended lines within milliseconds; the stop report must count them all.
    sleep 1
    stop_daemon agent
    grep -q "agent stopped: 16 lines" "$TMP/agent.log"
    start_daemon agent "datasource file" -no-api
    attack 10.0.0.3 8
    sleep 2
    start_daemon lapi "Local API listening" -no-cs
    wait_decision 10.0.0.2 150
    wait_decision 10.0.0.3 150
    stop_daemon agent
    for ip in 10.0.0.1 10.0.0.2 10.0.0.3; do
        n="$(decisions_for $ip)"
        echo "$ip: $n decisions"
        [ "$n" = 1 ]
    done
}

@test "live: a file read whole (mode: cat) is poured on the log's time, as CrowdSec does" {
    # Eight failures a minute apart: a brute force on the wall clock, not on the log's clock.
    for i in $(seq 8); do
        printf 'Nov 27 10:%02d:00 host sshd[%d]: Invalid user admin from 4.4.4.4 port %d\n' "$i" "$i" "$((4000 + i))"
    done > "$TMP/log/old.log"
    cat > "$TMP/etc/acquis.yaml" <<EOT
filenames:
  - $TMP/log/old.log
mode: cat
labels:
  type: syslog
EOT
    run -0 "$PHALANXD" -c "$CONFIG" -no-api -alerts-file "$TMP/alerts.json"
    [[ "$output" == *"agent stopped: 8 lines (8 parsed"* ]]
    [ ! -s "$TMP/alerts.json" ]
    # The same eight within one minute do alert.
    for i in $(seq 8); do
        printf 'Nov 27 11:00:%02d host sshd[%d]: Invalid user admin from 4.4.4.5 port %d\n' "$i" "$i" "$((4000 + i))"
    done > "$TMP/log/old.log"
    run -0 "$PHALANXD" -c "$CONFIG" -no-api -alerts-file "$TMP/alerts.json"
    run -0 jq -r '.source.value + " " + .start_at' "$TMP/alerts.json"
    [[ "$output" == "4.4.4.5 "*"-11-27T11:00:01Z" ]]
}

@test "live: a replay (-dsn) sends its alerts to the Local API of api.client, as crowdsec -dsn" {
    machine
    start_daemon lapi "Local API listening" -no-cs
    # Recent lines: a decision lasts from the alert's stop_at (CrowdSec 1.4), so an old log's bans
    # would be expired at once.
    local now
    now="$(LC_ALL=C date '+%b %e %H:%M:%S')"
    for i in $(seq 8); do
        printf '%s host sshd[%d]: Invalid user admin from 3.3.3.3 port %d\n' "$now" "$i" "$((4000 + i))"
    done > "$TMP/log/old.log"
    run -0 "$PHALANXD" -c "$CONFIG" -dsn "file://$TMP/log/old.log" -type syslog
    [[ "$output" == *"1 alerts sent to the Local API"* ]]
    [ "$(decisions_for 3.3.3.3)" = 1 ]
    stop_daemon lapi
}

@test "live: transform: rewrites each line before parsing (a string, or one line per array item)" {
    local now
    now="$(LC_ALL=C date '+%b %e %H:%M:%S')"
    cat > "$TMP/etc/acquis.yaml" <<EOT
filenames:
  - $TMP/log/wrapped.log
mode: cat
transform: 'evt.Line.Raw startsWith "{" ? JsonExtract(evt.Line.Raw, "msg") : Split(evt.Line.Raw, "|")'
labels:
  type: syslog
EOT
    # JSON-wrapped lines for 2.2.2.1; two lines in one for 2.2.2.2 (four physical lines, eight attempts)
    for i in $(seq 8); do
        printf '{"msg": "%s host sshd[%d]: Invalid user admin from 2.2.2.1 port %d"}\n' "$now" "$i" "$((4000 + i))"
    done > "$TMP/log/wrapped.log"
    for i in 1 3 5 7; do
        printf '%s host sshd[%d]: Invalid user admin from 2.2.2.2 port %d|%s host sshd[%d]: Invalid user admin from 2.2.2.2 port %d\n' \
            "$now" "$i" "$((4000 + i))" "$now" "$((i + 1))" "$((4001 + i))"
    done >> "$TMP/log/wrapped.log"
    run -0 "$PHALANXD" -c "$CONFIG" -no-api -alerts-file "$TMP/alerts.json"
    [[ "$output" == *"agent stopped: 16 lines (16 parsed"* ]]
    run -0 jq -r '.source.value + " " + (.events_count | tostring)' "$TMP/alerts.json"
    [ "$(sort <<< "$output")" = "$(printf '2.2.2.1 6\n2.2.2.2 6')" ]
}

@test "live: a transform that does not compile is refused with the file and line" {
    printf 'filenames:\n  - %s\ntransform: "Upper("\nlabels:\n  type: syslog\n' "$TMP/log/auth.log" > "$TMP/etc/acquis.yaml"
    run -1 "$PHALANXD" -c "$CONFIG" -no-api -alerts-file "$TMP/alerts.json"
    [[ "$output" == *"acquis.yaml:1: transform: compilation of 'Upper(' failed"* ]]
}

@test "live: common.log_media file, log_level and pid_dir are honoured" {
    mkdir -p "$TMP/logs" "$TMP/run"
    { printf 'common:\n  log_media: file\n  log_dir: %s\n  log_level: info\n  pid_dir: %s\n' \
        "$TMP/logs" "$TMP/run"; cat "$CONFIG"; } > "$TMP/etc/config-common.yaml"
    "$PHALANXD" -c "$TMP/etc/config-common.yaml" -no-cs > "$TMP/out.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do [ -s "$TMP/run/phalanxd.pid" ] && break; sleep 0.1; done
    [ "$(cat "$TMP/run/phalanxd.pid")" = "$pid" ]
    kill -TERM "$pid"
    wait "$pid"
    [ ! -e "$TMP/run/phalanxd.pid" ]
    # the log file gets what stderr would have had
    [ ! -s "$TMP/out.log" ]
    grep -q "Local API listening" "$TMP/logs/phalanxd.log"
    printf 'common:\n  log_media: carrier-pigeon\n' > "$TMP/etc/bad.yaml"
    cat "$CONFIG" >> "$TMP/etc/bad.yaml"
    run -1 "$PHALANXD" -c "$TMP/etc/bad.yaml" -no-cs
    [[ "$output" == *"common.log_media 'carrier-pigeon' is not stdout, file or syslog"* ]]
}
