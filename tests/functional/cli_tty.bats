#!/usr/bin/env bats
# What `phalanx` shows a person at a terminal, against a `phalanxd` Local API
# on loopback: the progress bars of long operations (`decisions import` of
# 100k lines, `alerts flush` of a 100k-alert database) drawn on a TTY
# (util-linux `script` gives the command one) and absent on a pipe; and human
# tables (decisions, alerts, bouncers, machines lists) that fit an 80-column
# terminal: with short values nothing wraps, with long ones the widest
# columns are narrowed and their cells wrapped, as cscli wraps them.
# PHALANX_LAPI_DB=postgres with PHALANX_PG_CONNINFO runs it on PostgreSQL.

bats_require_minimum_version 1.5.0

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

setup_file() {
    export PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    export PHALANXD="$PHALANX_BUILD/src/bin/phalanxd"
    export LTMP="$(mktemp -d)"
    export PORT="$(free_port)"
    export URL="http://127.0.0.1:$PORT"
    export CFG="$LTMP/config.yaml"
    if [ "${PHALANX_LAPI_DB:-sqlite}" = postgres ]; then
        [ -n "${PHALANX_PG_CONNINFO:-}" ] || skip "PHALANX_LAPI_DB=postgres needs PHALANX_PG_CONNINFO"
        db="db_config:
  type: postgres
$(tr ' ' '\n' <<< "$PHALANX_PG_CONNINFO" | sed -n 's/^host=/  host: /p; s/^port=/  port: /p; s/^user=/  user: /p; s/^dbname=/  db_name: /p; s/^password=/  password: /p')"
    else
        db="db_config:
  type: sqlite
  db_path: $LTMP/phalanx.db"
    fi
    cat > "$CFG" <<YAML
api:
  client:
    credentials_path: $LTMP/local_api_credentials.yaml
  server:
    enable: true
    listen_uri: 127.0.0.1:$PORT
$db
YAML
    cat > "$LTMP/local_api_credentials.yaml" <<YAML
url: $URL/
login: agent1
password: S3cret!pw
YAML
    "$PHALANX" machines add agent1 -p 'S3cret!pw' -c "$CFG" 2>/dev/null
    "$PHALANX" bouncers add fw1 -c "$CFG" >/dev/null
    "$PHALANXD" -c "$CFG" -no-cs > "$LTMP/phalanxd.log" 2>&1 &
    echo $! > "$LTMP/pid"
    for _ in $(seq 100); do
        curl -sf "$URL/health" >/dev/null && return 0
        sleep 0.1
    done
    cat "$LTMP/phalanxd.log" >&2
    return 1
}

teardown_file() {
    if [ -f "${LTMP:-/nonexistent}/pid" ]; then
        kill -TERM "$(cat "$LTMP/pid")" 2>/dev/null || true
        wait "$(cat "$LTMP/pid")" 2>/dev/null || true
    fi
    [ -n "${KEEP_LAPI_TMP:-}" ] || rm -rf "$LTMP"
}

setup() {
    command -v script >/dev/null || skip "util-linux script is absent"
}

sqlq() {
    if [ "${PHALANX_LAPI_DB:-sqlite}" = postgres ]; then
        psql "$PHALANX_PG_CONNINFO" -qtAc "$1"
    else
        sqlite3 -cmd ".timeout 10000" "$LTMP/phalanx.db" "$1"
    fi
}

# on_tty COLS COMMAND: runs the shell COMMAND on a terminal of COLS columns
# (script's pty, sized with stty; COLUMNS too), output in $output.
on_tty() {
    run script -qec "stty cols $1 rows 50; export COLUMNS=$1; $2" /dev/null
}

# The widest line of $output in terminal columns: colour codes and \r left out.
widest() {
    sed 's/\x1b\[[0-9;]*[A-Za-z]//g' <<< "$output" | tr '\r' '\n' |
        python3 -c 'import sys; print(max((len(l.rstrip("\n")) for l in sys.stdin), default=0))'
}

@test "decisions, alerts, bouncers and machines lists fit 80 columns with short values" {
    "$PHALANX" decisions add -i 192.0.2.7 -d 4h -R crowdsecurity/ssh-bf -c "$CFG" 2>/dev/null
    "$PHALANX" decisions add -r 198.51.100.0/24 -d 1h -t captcha -R crowdsecurity/ssh-bf -c "$CFG" 2>/dev/null
    for cmd in "decisions list" "alerts list" "bouncers list" "machines list"; do
        on_tty 80 "'$PHALANX' $cmd -c '$CFG'"
        [ "$status" -eq 0 ]
        echo "$cmd:" >&2
        echo "$output" >&2
        [ "$(widest)" -le 80 ]
        rows="$(sed 's/\x1b\[[0-9;]*[A-Za-z]//g' <<< "$output" | grep -c '^[│|]')"
        case "$cmd" in
        # Whole values, one line a row: the least needed columns make room.
        decisions*)
            [ "$rows" -eq 3 ]
            [[ "$output" == *"Hidden to fit the terminal: Source, Events, Alert ID (-o raw shows every column)"* ]]
            ;;
        # Alerts make room by hiding kind and the decisions summary.
        alerts*) [ "$rows" -eq 3 ] ;;
        *) [ "$rows" -eq 2 ] ;;
        esac
    done
    on_tty 80 "'$PHALANX' decisions list -c '$CFG'"
    [[ "$output" == *"Ip:192.0.2.7"* ]]
    [[ "$output" == *"Range:198.51.100.0/24"* ]]
    # A terminal wide enough shows every column and hides nothing.
    on_tty 200 "'$PHALANX' decisions list -c '$CFG'"
    [[ "$output" == *"Alert ID"* ]]
    [[ "$output" != *"Hidden"* ]]
}

@test "long values wrap inside 80 columns; a wider terminal or a pipe shows them whole" {
    local long="manual ban of a host that kept probing our login page with many usernames"
    "$PHALANX" decisions add -i 2001:db8:1234:5678:9abc:def0:1234:5678 -R "$long" -c "$CFG" 2>/dev/null
    on_tty 80 "'$PHALANX' decisions list -c '$CFG'"
    [ "$status" -eq 0 ]
    [ "$(widest)" -le 80 ]
    [[ "$output" != *"$long"* ]]
    [[ "$output" == *"manual ban of a"* ]]
    on_tty 200 "'$PHALANX' decisions list -c '$CFG'"
    [ "$(widest)" -gt 80 ]
    [[ "$output" == *"$long"* ]]
    [[ "$output" == *"Ip:2001:db8:1234:5678:9abc:def0:1234:5678"* ]]
    run -0 bash -c "COLUMNS= '$PHALANX' decisions list -c '$CFG' | cat"
    [[ "$output" == *"$long"* ]]
}

@test "decisions import of 100k lines draws a progress bar on a TTY, nothing on a pipe" {
    seq 1 100000 | awk '{ printf "10.%d.%d.%d\n", int($1/65536), int($1/256)%256, $1%256 }' > "$LTMP/100k.txt"
    on_tty 80 "'$PHALANX' decisions import -i '$LTMP/100k.txt' --format values -c '$CFG'"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Importing decisions ["*"]   0% 0/100000"* ]]
    [[ "$output" == *"Importing decisions ["*"] 100% 100000/100000"* ]]
    [[ "$output" == *"Imported 100000 decisions"* ]]
    # The bar fits the 80 columns, and is cleared before the last message.
    [ "$(widest)" -le 80 ]
    [[ "$output" == *$'\r\033[K'* ]]
    # On a pipe (a smaller file: the bar is absent whatever the size).
    seq 1 1000 | awk '{ printf "10.200.%d.%d\n", int($1/256), $1%256 }' > "$LTMP/1k.txt"
    run bash -c "'$PHALANX' decisions import -i '$LTMP/1k.txt' --format values -c '$CFG' 2>&1 | cat"
    [ "$status" -eq 0 ]
    [[ "$output" == *"Imported 1000 decisions"* ]]
    [[ "$output" != *"Importing decisions ["* ]]
    [[ "$output" != *$'\r'* ]]
}

# N alerts without decisions, straight into the database.
bulk_alerts() {
    local n="$1" now rows
    now="$(date +%s%N)"
    rows="SELECT i FROM generate_series(1, $n) AS s(i)"
    [ "${PHALANX_LAPI_DB:-sqlite}" = postgres ] ||
        rows="WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n) SELECT i FROM s"
    sqlq "INSERT INTO alerts (created_at, updated_at, scenario, message, events_count, started_at,
            stopped_at, source_ip, source_scope, source_value, capacity, leak_speed, kind, machine_id)
          SELECT $now + i, $now + i, 'crowdsecurity/ssh-bf', 'bulk', 6, $now, $now,
            '172.16.' || (i / 256) || '.' || (i % 256), 'Ip',
            '172.16.' || (i / 256) || '.' || (i % 256), 5, '10s', 'crowdsec', 'agent1'
          FROM ($rows) AS g"
}

@test "alerts flush of 100k alerts draws a progress bar on a TTY, nothing on a pipe" {
    local before after
    bulk_alerts 100000
    before="$(sqlq "SELECT COUNT(*) FROM alerts")"
    on_tty 80 "'$PHALANX' alerts flush --max-items 1000 -c '$CFG'"
    [ "$status" -eq 0 ]
    after="$(sqlq "SELECT COUNT(*) FROM alerts")"
    [[ "$output" == *"Flushing alerts ["*"]   4% 1/21"* ]]
    [[ "$output" == *"Flushing alerts ["*"] 100% 21/21"* ]]
    [[ "$output" == *"Alerts flushed ($((before - after)) deleted)"* ]]
    [ "$after" -lt 1100 ]
    [ "$(widest)" -le 80 ]
    bulk_alerts 100000
    before="$(sqlq "SELECT COUNT(*) FROM alerts")"
    run bash -c "'$PHALANX' alerts flush --max-items 1000 -c '$CFG' 2>&1 | cat"
    [ "$status" -eq 0 ]
    after="$(sqlq "SELECT COUNT(*) FROM alerts")"
    [[ "$output" == *"Alerts flushed ($((before - after)) deleted)"* ]]
    [ "$after" -lt 1100 ]
    [[ "$output" != *"Flushing alerts ["* ]]
    [[ "$output" != *$'\r'* ]]
}
