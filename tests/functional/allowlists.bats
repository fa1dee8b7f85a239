#!/usr/bin/env bats
# CrowdSec 1.6's centralized allowlists: `phalanx allowlists` on the database,
# the LAPI routes for machines (GET /v1/allowlists[/{name}], the check by
# path and in bulk), and their effect: an agent's alert whose source is
# allowlisted is not stored, and `allowlists add` expires the decisions the
# list now covers. PHALANX_LAPI_DB=postgres with PHALANX_PG_CONNINFO runs the
# same file on PostgreSQL.

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
    cat > "$LTMP/profiles.yaml" <<'YAML'
name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
on_success: break
YAML
    if [ "${PHALANX_LAPI_DB:-sqlite}" = postgres ]; then
        # A database of our own, so other suites on the same server are not disturbed.
        local ci="$PHALANX_PG_CONNINFO" db=phx_allowlists_bats
        psql "$ci" -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
        db="db_config:
  type: postgres
$(tr ' ' '\n' <<< "$ci" | sed -n 's/^host=/  host: /p; s/^port=/  port: /p; s/^user=/  user: /p; s/^password=/  password: /p')
  db_name: $db"
    else
        db="db_config:
  type: sqlite
  db_path: $LTMP/phalanx.db"
    fi
    cat > "$LTMP/config.yaml" <<YAML
api:
  server:
    enable: true
    listen_uri: 127.0.0.1:$PORT
    profiles_path: $LTMP/profiles.yaml
$db
YAML
    export CFG="$LTMP/config.yaml"
    "$PHALANX" machines add agent1 -p 'S3cret!pw' -c "$CFG" 2>/dev/null
    export KEY="$("$PHALANX" bouncers add fw1 -o raw -c "$CFG")"
    "$PHALANXD" -c "$CFG" > "$LTMP/phalanxd.log" 2>&1 &
    echo $! > "$LTMP/pid"
    for _ in $(seq 100); do
        if curl -sf "$URL/health" >/dev/null; then
            curl -s "$URL/v1/watchers/login" -d '{"machine_id":"agent1","password":"S3cret!pw"}' |
                jq -r .token > "$LTMP/token"
            return 0
        fi
        sleep 0.1
    done
    cat "$LTMP/phalanxd.log" >&2
    return 1
}

teardown_file() {
    if [ -f "$LTMP/pid" ]; then
        kill -TERM "$(cat "$LTMP/pid")" 2>/dev/null || true
        wait "$(cat "$LTMP/pid")" 2>/dev/null || true
    fi
    [ -n "${KEEP_LAPI_TMP:-}" ] || rm -rf "$LTMP"
}

req() {
    curl -s -o "$LTMP/body" -w '%{http_code}' "$@" > "$LTMP/code"
    CODE="$(cat "$LTMP/code")"
    BODY="$(cat "$LTMP/body")"
}

auth() { echo "Authorization: Bearer $(cat "$LTMP/token")"; }

alert_json() { # ip, scope, with_decisions(true|false)
    local dec='[]'
    if [ "$3" = true ]; then
        dec='[{"duration":"1h","origin":"cscli","scenario":"manual ban","scope":"'"$2"'","type":"ban","value":"'"$1"'"}]'
    fi
    cat <<JSON
{"capacity":5,"events":[],"events_count":6,"leakspeed":"10s","message":"test alert","scenario":"crowdsecurity/ssh-bf",
  "scenario_hash":"abc","scenario_version":"0.1","simulated":false,"remediation":true,
  "start_at":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","stop_at":"$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "source":{"scope":"$2","value":"$1","ip":"$1"},"decisions":$dec}
JSON
}

@test "create: needs -d, refuses a duplicate, then list shows it (human, json, raw)" {
    run -1 "$PHALANX" allowlists create mylist -c "$CFG"
    [[ "$output" == *'required flag(s) "description" not set'* ]]
    run -0 "$PHALANX" allowlists create mylist -d "my list" -c "$CFG"
    [ "$output" = "allowlist 'mylist' created successfully" ]
    run -1 "$PHALANX" allowlists create mylist -d "again" -c "$CFG"
    [[ "$output" == *"allowlist 'mylist' already exists"* ]]
    run -0 "$PHALANX" allowlists list -c "$CFG"
    [[ "$output" == *Name*Description*"Created at"*"Updated at"*"Managed by Console"*Size* ]]
    [[ "$output" == *mylist*"my list"*no*0* ]]
    run -0 "$PHALANX" allowlists list -o json -c "$CFG"
    [ "$(jq -r '.[0].name' <<< "$output")" = mylist ]
    [ "$(jq -r '.[0].description' <<< "$output")" = "my list" ]
    [ "$(jq -c '.[0].items' <<< "$output")" = '[]' ]
    [ "$(jq -r '.[0] | has("console_managed")' <<< "$output")" = false ]
    [[ "$(jq -r '.[0].created_at' <<< "$output")" =~ ^20[0-9-]+T[0-9:]+\.[0-9]{3}Z$ ]]
    run -0 "$PHALANX" allowlists list -o raw -c "$CFG"
    [ "${lines[0]}" = "name,description,created_at,updated_at,console_managed,size" ]
    [[ "${lines[1]}" =~ ^mylist,my\ list,20[0-9-]+T[0-9:]+Z,20[0-9-]+T[0-9:]+Z,false,0$ ]]
}

@test "add: values with comment and expiration, duplicates and bad values reported" {
    run -0 "$PHALANX" allowlists add mylist 192.168.1.0/24 10.0.0.1 -d "office" -c "$CFG"
    [[ "$output" == *"added 2 values to allowlist mylist"* ]]
    run -0 "$PHALANX" allowlists add mylist 10.0.0.1 -c "$CFG"
    [[ "$output" == *"value 10.0.0.1 already in allowlist"* ]]
    [[ "$output" == *"no new values for allowlist"* ]]
    run -0 "$PHALANX" allowlists add mylist 2001:db8::/32 -e 1h -c "$CFG"
    [[ "$output" == *"added 1 values to allowlist mylist"* ]]
    run -0 "$PHALANX" allowlists add mylist not-an-ip -c "$CFG"
    [[ "$output" == *"invalid ip address 'not-an-ip'"* ]]
    [[ "$output" != *"added"* ]]
    run -1 "$PHALANX" allowlists add mylist 1.2.3.4 -e soon -c "$CFG"
    [[ "$output" == *"invalid duration"* ]]
    run -1 "$PHALANX" allowlists add nolist 1.2.3.4 -c "$CFG"
    [[ "$output" == *"allowlist 'nolist' not found"* ]]
    run -0 "$PHALANX" allowlists inspect mylist -o json -c "$CFG"
    [ "$(jq -r '[.items[].value] | join(" ")' <<< "$output")" = "192.168.1.0/24 10.0.0.1 2001:db8::/32" ]
    [ "$(jq -r '.items[0].description' <<< "$output")" = office ]
    [ "$(jq -r '.items[0].expiration' <<< "$output")" = "0001-01-01T00:00:00.000Z" ]
    exp="$(jq -r '.items[2].expiration' <<< "$output")"
    [ "$(( $(date -d "$exp" +%s) - $(date +%s) ))" -gt 3500 ]
    run -0 "$PHALANX" allowlists inspect mylist -c "$CFG"
    [[ "$output" == *"Allowlist: mylist"* ]]
    [[ "$output" == *Value*Comment*Expiration*"Created at"* ]]
    [[ "$output" == *"192.168.1.0/24"*office*never* ]]
    run -0 "$PHALANX" allowlists inspect mylist -o raw -c "$CFG"
    [ "${lines[0]}" = "name,description,value,comment,expiration,created_at,console_managed" ]
    [[ "${lines[1]}" == "mylist,my list,192.168.1.0/24,office,never,"*",false" ]]
}

@test "check from the CLI, by path (GET and HEAD) and in bulk" {
    run -0 "$PHALANX" allowlists check 192.168.1.20 8.8.8.8 -c "$CFG"
    [ "${lines[0]}" = "192.168.1.20 is allowlisted by item 192.168.1.0/24 from mylist (office)" ]
    [ "${lines[1]}" = "8.8.8.8 is not allowlisted" ]
    req -H "$(auth)" "$URL/v1/allowlists/check/192.168.1.20"
    [ "$CODE" = 200 ]
    [ "$BODY" = '{"allowlisted":true,"reason":"192.168.1.0/24 from mylist (office)"}' ]
    req -H "$(auth)" "$URL/v1/allowlists/check/8.8.8.8"
    [ "$CODE" = 200 ]
    [ "$BODY" = '{}' ]
    # A range, its slash escaped as CrowdSec's client does.
    req -H "$(auth)" "$URL/v1/allowlists/check/10.0.0.0%2F24"
    [ "$CODE" = 200 ]
    [ "$BODY" = '{"allowlisted":true,"reason":"10.0.0.1 from mylist (office)"}' ]
    req -H "$(auth)" "$URL/v1/allowlists/check/2001:db8::1"
    [ "$(jq -r .reason <<< "$BODY")" = "2001:db8::/32 from mylist" ]
    req -I -H "$(auth)" "$URL/v1/allowlists/check/10.0.0.1"
    [ "$CODE" = 200 ]
    req -I -H "$(auth)" "$URL/v1/allowlists/check/10.0.0.2"
    [ "$CODE" = 204 ]
    req -H "$(auth)" "$URL/v1/allowlists/check/nonsense"
    [ "$CODE" = 400 ]
    [ "$(jq -r .message <<< "$BODY")" = "invalid ip address 'nonsense'" ]
    req -H "$(auth)" "$URL/v1/allowlists/check" -d '{"targets":["10.0.0.1","8.8.8.8","192.168.0.0/16"]}'
    [ "$CODE" = 200 ]
    [ "$BODY" = '{"results":[{"allowlists":["10.0.0.1 from mylist (office)"],"target":"10.0.0.1"},{"allowlists":["192.168.1.0/24 from mylist (office)"],"target":"192.168.0.0/16"}]}' ]
    req -H "$(auth)" "$URL/v1/allowlists/check" -d '{"targets":[]}'
    [ "$CODE" = 400 ]
    [ "$BODY" = '{"message":"targets list cannot be empty"}' ]
    req -H "$(auth)" "$URL/v1/allowlists/check" -d '{"targets":'
    [ "$CODE" = 400 ]
    # Machines only.
    req -H "X-Api-Key: $KEY" "$URL/v1/allowlists/check/10.0.0.1"
    [ "$CODE" = 401 ]
}

@test "GET /v1/allowlists and /v1/allowlists/{name}, with and without content" {
    req -H "$(auth)" "$URL/v1/allowlists"
    [ "$CODE" = 200 ]
    [ "$(jq -c '.[0].items' <<< "$BODY")" = '[]' ]
    [ "$(jq -r '.[0] | keys_unsorted | join(",")' <<< "$BODY")" = "created_at,description,items,name,updated_at" ]
    req -H "$(auth)" "$URL/v1/allowlists?with_content=true"
    [ "$(jq -r '[.[0].items[].value] | join(" ")' <<< "$BODY")" = "192.168.1.0/24 10.0.0.1 2001:db8::/32" ]
    [ "$(jq -r '.[0].items[0] | keys_unsorted | join(",")' <<< "$BODY")" = "created_at,description,expiration,value" ]
    req -H "$(auth)" "$URL/v1/allowlists/mylist?with_content=true"
    [ "$CODE" = 200 ]
    [ "$(jq -r .name <<< "$BODY")" = mylist ]
    [ "$(jq -r '.items | length' <<< "$BODY")" = 3 ]
    req -I -H "$(auth)" "$URL/v1/allowlists/mylist"
    [ "$CODE" = 200 ]
    req -H "$(auth)" "$URL/v1/allowlists/unknown"
    [ "$CODE" = 404 ]
    [ "$BODY" = "{\"message\":\"allowlist 'unknown' not found\"}" ]
    req "$URL/v1/allowlists"
    [ "$CODE" = 401 ]
}

@test "POST /v1/alerts: an allowlisted source is skipped, others and cscli's decisions are kept" {
    body="[$(alert_json 10.0.0.1 Ip false),$(alert_json 5.6.7.8 Ip false),$(alert_json 192.168.1.9 ip false)]"
    req -H "$(auth)" "$URL/v1/alerts" -d "$body"
    [ "$CODE" = 201 ]
    [ "$(jq -r 'length' <<< "$BODY")" = 1 ]
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions"
    [ "$(jq -r '[.[].value] | join(" ")' <<< "$BODY")" = "5.6.7.8" ]
    grep -q "alert source 10.0.0.1 is allowlisted by 10.0.0.1 from mylist (office), skipping" "$LTMP/phalanxd.log"
    # Only allowlisted alerts: 201 with no id.
    req -H "$(auth)" "$URL/v1/alerts" -d "[$(alert_json 10.0.0.1 Ip false)]"
    [ "$CODE" = 201 ]
    [ "$BODY" = '[]' ]
    # An alert that brings its decisions (cscli decisions add) is not checked here.
    req -H "$(auth)" "$URL/v1/alerts" -d "[$(alert_json 10.0.0.1 Ip true)]"
    [ "$CODE" = 201 ]
    [ "$(jq -r 'length' <<< "$BODY")" = 1 ]
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=10.0.0.1"
    [ "$(jq -r '.[0].value' <<< "$BODY")" = 10.0.0.1 ]
}

@test "allowlists add expires the active decisions it covers" {
    req -H "$(auth)" "$URL/v1/alerts" -d "[$(alert_json 7.7.7.7 Ip false),$(alert_json 7.7.8.0/24 Range true)]"
    [ "$CODE" = 201 ]
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=7.7.7.7"
    [ "$(jq -r '.[0].value' <<< "$BODY")" = 7.7.7.7 ]
    run -0 "$PHALANX" allowlists add mylist 7.7.0.0/16 -c "$CFG"
    [[ "$output" == *"added 1 values to allowlist mylist"* ]]
    # 7.7.7.7, 7.7.8.0/24, and the manual ban of 10.0.0.1 (in the list since the start).
    [[ "$output" == *"3 decisions deleted by allowlists"* ]]
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=7.7.7.7"
    [ "$BODY" = null ]
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions?range=7.7.8.0/24"
    [ "$BODY" = null ]
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=10.0.0.1"
    [ "$BODY" = null ]
    # 5.6.7.8 is still banned.
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=5.6.7.8"
    [ "$(jq -r '.[0].value' <<< "$BODY")" = 5.6.7.8 ]
}

@test "remove and delete" {
    run -0 "$PHALANX" allowlists remove mylist 10.0.0.1 9.9.9.9 -c "$CFG"
    [ "$output" = "removed 1 values from allowlist mylist" ]
    run -0 "$PHALANX" allowlists remove mylist 9.9.9.9 -c "$CFG"
    [ "$output" = "no value to remove from allowlist" ]
    run -0 "$PHALANX" allowlists check 10.0.0.1 -c "$CFG"
    [ "$output" = "10.0.0.1 is not allowlisted" ]
    run -0 "$PHALANX" allowlists delete mylist -c "$CFG"
    [ "$output" = "allowlist 'mylist' deleted successfully" ]
    run -1 "$PHALANX" allowlists delete mylist -c "$CFG"
    [[ "$output" == *"allowlist 'mylist' not found"* ]]
    req -H "$(auth)" "$URL/v1/allowlists"
    [ "$BODY" = '[]' ]
    run -1 "$PHALANX" allowlists frobnicate -c "$CFG"
    [[ "$output" == *'unknown command "frobnicate"'* ]]
}
