#!/usr/bin/env bats
# `phalanx alerts list|inspect|delete|flush` against a `phalanxd` Local API
# on loopback with the machine credentials of local_api_credentials.yaml, in
# human, raw and JSON output. flush works on the database directly.
# Run with PHALANX_BUILD set to a meson build directory. PHALANX_LAPI_DB=postgres
# with PHALANX_PG_CONNINFO="host=... port=... user=... dbname=..." runs the
# same file on PostgreSQL.

bats_require_minimum_version 1.5.0

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# phalanxd with a fresh database on a free port, the machine agent1 and its credentials file.
cli_lapi_start() {
    export PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    export PHALANXD="${PHALANXD:-$PHALANX_BUILD/src/bin/phalanxd}"
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
    # -no-cs: the Local API alone, as `crowdsec -no-cs`
    "$PHALANXD" -c "$CFG" -no-cs > "$LTMP/phalanxd.log" 2>&1 &
    echo $! > "$LTMP/pid"
    for _ in $(seq 100); do
        curl -sf "$URL/health" >/dev/null && return 0
        sleep 0.1
    done
    cat "$LTMP/phalanxd.log" >&2
    return 1
}

cli_lapi_stop() {
    if [ -f "${LTMP:-/nonexistent}/pid" ]; then
        kill -TERM "$(cat "$LTMP/pid")" 2>/dev/null || true
        wait "$(cat "$LTMP/pid")" 2>/dev/null || true
    fi
    [ -n "${KEEP_LAPI_TMP:-}" ] || rm -rf "$LTMP"
}

# One SQL statement on the test database; rows on stdout, '|' between columns.
sqlq() {
    if [ "${PHALANX_LAPI_DB:-sqlite}" = postgres ]; then
        psql "$PHALANX_PG_CONNINFO" -qtAc "$1"
    else
        sqlite3 -cmd ".timeout 10000" "$LTMP/phalanx.db" "$1"
    fi
}

# N alerts from agent1, each with one active 4h ban on its own IPv4 address.
bulk_alerts() {
    local n="$1" now
    now="$(date +%s%N)"
    local rows="SELECT i FROM generate_series(1, $n) AS s(i)"
    [ "${PHALANX_LAPI_DB:-sqlite}" = postgres ] ||
        rows="WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $n) SELECT i FROM s"
    sqlq "INSERT INTO alerts (created_at, updated_at, scenario, message, events_count, started_at,
            stopped_at, source_ip, source_scope, source_value, capacity, leak_speed, kind, machine_id)
          SELECT $now + i, $now + i, 'crowdsecurity/ssh-bf', 'bulk', 6, $now, $now,
            '172.16.' || (i / 256) || '.' || (i % 256), 'Ip',
            '172.16.' || (i / 256) || '.' || (i % 256), 5, '10s', 'crowdsec', 'agent1'
          FROM ($rows) AS g"
    sqlq "INSERT INTO decisions (created_at, updated_at, until, scenario, type, start_ip, end_ip,
            ip_size, scope, value, origin, alert_id)
          SELECT created_at, created_at, $now + 14400000000000, scenario, 'ban',
            2886729728 + (created_at - $now), 2886729728 + (created_at - $now), 4, 'Ip',
            source_value, 'crowdsec', id
          FROM alerts WHERE message = 'bulk'"
}

setup_file() {
    cli_lapi_start
}

teardown_file() {
    cli_lapi_stop
}

login_token() {
    curl -s "$URL/v1/watchers/login" \
        -d '{"machine_id":"agent1","password":"S3cret!pw","scenarios":["crowdsecurity/ssh-bf"]}' | jq -r .token
}

# An alert from the agent with events, context meta and, when asked, one ban.
push_alert() { # ip, with_decision(true|false)
    local dec='[]' now
    now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    [ "$2" = true ] && dec='[{"duration":"1h","origin":"crowdsec","scenario":"crowdsecurity/ssh-bf","scope":"Ip","type":"ban","value":"'"$1"'"}]'
    curl -sf "$URL/v1/alerts" -H "Authorization: Bearer $(login_token)" -d @- <<JSON
[{"capacity":5,"events_count":6,"leakspeed":"10s","message":"Ip $1 performed 'crowdsecurity/ssh-bf' (6 events over 1s)",
  "scenario":"crowdsecurity/ssh-bf","scenario_hash":"abc","scenario_version":"0.1","simulated":false,"remediation":true,
  "kind":"crowdsec","start_at":"$now","stop_at":"$now",
  "source":{"scope":"Ip","value":"$1","ip":"$1","cn":"FR","as_number":"64500","as_name":"Example AS"},
  "meta":[{"key":"target_user","value":"[\"root\",\"admin\"]"}],
  "events":[{"timestamp":"$now","meta":[{"key":"source_ip","value":"$1"},{"key":"log_type","value":"ssh_failed-auth"}]}],
  "decisions":$dec}]
JSON
}

@test "alerts list on an empty database: 'No active alerts', [] in JSON, a bare header in raw" {
    run -0 "$PHALANX" alerts list -c "$CFG"
    [ "$output" = "No active alerts" ]
    run -0 "$PHALANX" alerts list -c "$CFG" -o json
    [ "$output" = "[]" ]
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw
    [ "$output" = "id,scope,value,reason,country,as,decisions,created_at,kind" ]
}

@test "alerts list: human table, raw CSV and JSON of pushed alerts" {
    push_alert 192.0.2.1 true
    push_alert 192.0.2.2 false
    run -0 "$PHALANX" decisions add -i 192.0.2.3 -t captcha -c "$CFG"
    run -0 "$PHALANX" alerts list -c "$CFG"
    [[ "${lines[1]}" == *" ID "*" value "*" reason "*" country "*" as "*" decisions "*" created_at "*" kind "* ]]
    [ "${#lines[@]}" -eq 7 ]
    # newest first
    [[ "${lines[3]}" == "| 3  | Ip:192.0.2.3 | manual 'captcha' from 'agent1' |"*"| captcha:1 | 20"*"Z | cscli    |" ]]
    [[ "${lines[4]}" == "| 2  | Ip:192.0.2.2 | crowdsecurity/ssh-bf "*"| FR "*"| 64500 Example AS |"*"| crowdsec |" ]]
    [[ "${lines[5]}" == *" ban:1 "* ]]
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw
    [[ "${lines[3]}" == "1,Ip,192.0.2.1,crowdsecurity/ssh-bf,FR,64500 Example AS,ban:1,20"*"Z,crowdsec" ]]
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw -m
    [[ "${lines[0]}" == *",kind,machine" ]]
    [[ "${lines[1]}" == *",cscli,agent1" ]]
    run -0 "$PHALANX" alerts list -c "$CFG" -o json
    [ "$(jq length <<< "$output")" = 3 ]
    [ "$(jq -r '.[2].source.cn' <<< "$output")" = FR ]
    [ "$(jq -r '.[2].events[0].meta[0].key' <<< "$output")" = log_type ] || [ "$(jq -r '.[2].events[0].meta[0].key' <<< "$output")" = source_ip ]
    [ "${lines[1]}" = " {" ]
}

@test "alerts list filters: -i, -r, -s, --type, --scope/-v, --kind, -l" {
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw -i 192.0.2.1
    [ "${#lines[@]}" -eq 2 ]
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw -r 192.0.2.0/24 --contained
    [ "${#lines[@]}" -eq 3 ]
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw -s crowdsecurity/ssh-bf
    [ "${#lines[@]}" -eq 3 ]
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw --type captcha
    [ "${#lines[@]}" -eq 2 ]
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw --scope ip -v 192.0.2.2
    [ "${#lines[@]}" -eq 2 ]
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw --kind cscli
    [ "${#lines[@]}" -eq 2 ]
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw -l 1
    [ "${#lines[@]}" -eq 2 ]
    run -1 --separate-stderr "$PHALANX" alerts list -c "$CFG" -i nope
    [ "$stderr" = "Error: nope is not a valid ip" ]
}

@test "alerts inspect: human with active decisions, context and -d events; JSON" {
    run -0 "$PHALANX" alerts inspect 1 -c "$CFG"
    [[ "$output" == *" - ID           : 1"* ]]
    [[ "$output" == *" - Machine      : agent1"* ]]
    [[ "$output" == *" - Remediation  : true"* ]]
    [[ "$output" == *" - Kind         : crowdsec"* ]]
    [[ "$output" == *" - Scope:Value  : Ip:192.0.2.1"* ]]
    [[ "$output" == *" - Country      : FR"* ]]
    [[ "$output" == *" - AS           : Example AS"* ]]
    [[ "$output" == *"Active Decisions"*" Ip:192.0.2.1 "*" ban "* ]]
    [[ "$output" == *" - Context  :"*"| target_user | root  |"*"| target_user | admin |"* ]]
    [[ "$output" != *" - Events  :"* ]]
    run -0 "$PHALANX" alerts inspect -d 1 -c "$CFG"
    [[ "$output" == *" - Events  :"*"- Date: "*"| log_type  | ssh_failed-auth |"*"| source_ip | 192.0.2.1       |"* ]]
    run -0 "$PHALANX" alerts inspect 1 -o json -c "$CFG"
    [ "$(jq -r .id <<< "$output")" = 1 ]
    [ "$(jq -r '.decisions[0].value' <<< "$output")" = 192.0.2.1 ]
    [ "${lines[1]}" = '  "capacity": 5,' ]
    run -1 --separate-stderr "$PHALANX" alerts inspect 999 -c "$CFG"
    [[ "$stderr" == "Error: can't find alert with id 999: the local API answered 404"* ]]
    run -1 --separate-stderr "$PHALANX" alerts inspect x -c "$CFG"
    [ "$stderr" = "Error: bad alert id x" ]
    run -1 --separate-stderr "$PHALANX" alerts inspect -c "$CFG"
    [[ "$stderr" == "Error: requires at least 1 arg(s)"* ]]
}

@test "alerts delete: by filter, by --id, --all; a filter is required" {
    run -1 --separate-stderr "$PHALANX" alerts delete -c "$CFG"
    [[ "$stderr" == "Error: at least one filter or --all must be specified"* ]]
    # -i matches the decisions of an alert (as CrowdSec's filter does): alert 2 has none
    run -0 --separate-stderr "$PHALANX" alerts delete -i 192.0.2.2 -c "$CFG"
    [ "$stderr" = "0 alert(s) deleted" ]
    run -0 --separate-stderr "$PHALANX" alerts delete --scope ip -v 192.0.2.2 -c "$CFG"
    [ "$stderr" = "1 alert(s) deleted" ]
    run -0 --separate-stderr "$PHALANX" alerts delete --id 3 -c "$CFG"
    [ "$stderr" = "1 alert(s) deleted" ]
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw
    [ "${#lines[@]}" -eq 2 ]
    run -0 --separate-stderr "$PHALANX" alerts delete --all -c "$CFG"
    [ "$stderr" = "1 alert(s) deleted" ]
    run -0 "$PHALANX" alerts list -c "$CFG"
    [ "$output" = "No active alerts" ]
}

@test "alerts flush --max-items keeps the newest alerts, never those with an active decision" {
    for i in 1 2 3 4 5; do push_alert "192.0.2.1$i" false; done
    push_alert 192.0.2.99 true
    for i in 6 7; do push_alert "192.0.2.1$i" false; done
    run -0 --separate-stderr "$PHALANX" alerts flush --max-items 2 -c "$CFG"
    [[ "$stderr" == *"Alerts flushed"* ]]
    # CrowdSec keeps ids >= max(id) - max_items, plus every alert with an active decision
    run -0 "$PHALANX" alerts list -c "$CFG" -o raw
    [ "${#lines[@]}" -eq 4 ]
    [[ "$output" == *",192.0.2.99,"* ]]
    [[ "$output" == *",192.0.2.16,"* ]]
    [[ "$output" == *",192.0.2.17,"* ]]
    run -1 --separate-stderr "$PHALANX" alerts flush --max-age soon -c "$CFG"
    [[ "$stderr" == "Error: invalid --max-age 'soon'"* ]]
}
