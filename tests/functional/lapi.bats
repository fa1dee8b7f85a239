#!/usr/bin/env bats
# The Local API of `phalanxd` on loopback: health, bouncer keys, the
# decisions list and stream, watcher registration and login, alerts in and
# decisions out (explicit and from profiles), deletion, and the limits.
# Run with PHALANX_BUILD set to a meson build directory. PHALANX_LAPI_DB=postgres
# with PHALANX_PG_CONNINFO="host=... port=... user=... dbname=..." runs the
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
        db="db_config:
  type: postgres
$(tr ' ' '\n' <<< "$PHALANX_PG_CONNINFO" | sed -n 's/^host=/  host: /p; s/^port=/  port: /p; s/^user=/  user: /p; s/^dbname=/  db_name: /p; s/^password=/  password: /p')"
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
    export KEY="$("$PHALANX" bouncers add fw1 -o raw -c "$LTMP/config.yaml")"
    export KEY2="$("$PHALANX" bouncers add fw2 -o raw -c "$LTMP/config.yaml")"
    "$PHALANX" machines add agent1 -p 'S3cret!pw' -c "$LTMP/config.yaml" 2>/dev/null
    "$PHALANXD" -c "$LTMP/config.yaml" > "$LTMP/phalanxd.log" 2>&1 &
    echo $! > "$LTMP/pid"
    for _ in $(seq 100); do
        curl -sf "$URL/health" >/dev/null && return 0
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

# status and body of a request: "CODE BODY"
req() {
    curl -s -o "$LTMP/body" -w '%{http_code}' "$@" > "$LTMP/code"
    CODE="$(cat "$LTMP/code")"
    BODY="$(cat "$LTMP/body")"
}

token() {
    curl -s "$URL/v1/watchers/login" -H 'User-Agent: crowdsec/v1.6.0' \
        -d '{"machine_id":"agent1","password":"S3cret!pw","scenarios":["crowdsecurity/ssh-bf"]}' | jq -r .token
}

alert_json() { # ip, with_decisions(true|false)
    local dec='[]'
    if [ "$2" = true ]; then
        dec='[{"duration":"1h","origin":"cscli","scenario":"manual ban","scope":"Ip","type":"ban","value":"'"$1"'"}]'
    fi
    cat <<JSON
[{"capacity":5,"events":[],"events_count":6,"leakspeed":"10s","message":"test alert","scenario":"crowdsecurity/ssh-bf",
  "scenario_hash":"abc","scenario_version":"0.1","simulated":false,"remediation":true,
  "start_at":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","stop_at":"$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "source":{"scope":"Ip","value":"$1","ip":"$1"},"decisions":$dec}]
JSON
}

@test "GET /health answers up" {
    req "$URL/health"
    [ "$CODE" = 200 ]
    [ "$BODY" = '{"status":"up"}' ]
}

@test "unknown route 404, wrong method 405, both with a JSON message" {
    req "$URL/v1/nope"
    [ "$CODE" = 404 ]
    [ "$(jq -r .message <<< "$BODY")" = "not found" ]
    req -X PUT "$URL/health"
    [ "$CODE" = 405 ]
    [ "$(jq -r .message <<< "$BODY")" = "method not allowed" ]
}

@test "a bouncer without or with a wrong key gets 403 access forbidden" {
    req "$URL/v1/decisions"
    [ "$CODE" = 403 ]
    [ "$BODY" = '{"message":"access forbidden"}' ]
    req -H "X-Api-Key: ${KEY}x" "$URL/v1/decisions/stream"
    [ "$CODE" = 403 ]
}

@test "no decisions: GET /v1/decisions is null, the startup stream has null lists" {
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions"
    [ "$CODE" = 200 ]
    [ "$BODY" = null ]
    req -H "X-Api-Key: $KEY" -A 'crowdsec-firewall-bouncer/v0.0.25' "$URL/v1/decisions/stream?startup=true"
    [ "$CODE" = 200 ]
    [ "$BODY" = '{"deleted":null,"new":null}' ]
    run -0 "$PHALANX" bouncers list -c "$LTMP/config.yaml"
    [[ "$output" == *"fw1"*"127.0.0.1"*"crowdsec-firewall-bouncer"*"v0.0.25"* ]]
}

@test "watcher registration: 201, then 403 for the same name, 422 without a password" {
    req "$URL/v1/watchers" -d '{"machine_id":"newagent","password":"pw123456"}'
    [ "$CODE" = 201 ]
    req "$URL/v1/watchers" -d '{"machine_id":"newagent","password":"pw123456"}'
    [ "$CODE" = 403 ]
    [ "$(jq -r .message <<< "$BODY")" = "user 'newagent': user already exist" ]
    req "$URL/v1/watchers" -d '{"machine_id":"other"}'
    [ "$CODE" = 422 ]
    [ "$(jq -r .message <<< "$BODY")" = $'validation failure list:\npassword in body is required' ]
}

@test "login: unvalidated and wrong password are 401, a validated machine gets a 1h token" {
    req "$URL/v1/watchers/login" -d '{"machine_id":"newagent","password":"pw123456"}'
    [ "$CODE" = 401 ]
    [ "$BODY" = '{"code":401,"message":"machine newagent not validated"}' ]
    run -0 "$PHALANX" machines validate newagent -c "$LTMP/config.yaml"
    req "$URL/v1/watchers/login" -d '{"machine_id":"newagent","password":"pw123456"}'
    [ "$CODE" = 200 ]
    [ "$(jq -r .code <<< "$BODY")" = 200 ]
    exp="$(jq -r .expire <<< "$BODY")"
    delta=$(( $(date -d "$exp" +%s) - $(date +%s) ))
    [ "$delta" -ge 3590 ]
    [ "$delta" -le 3600 ]
    req "$URL/v1/watchers/login" -d '{"machine_id":"agent1","password":"wrong"}'
    [ "$CODE" = 401 ]
    [ "$BODY" = '{"code":401,"message":"incorrect Username or Password"}' ]
    req "$URL/v1/watchers/login" -d '{"machine_id":"ghost","password":"x"}'
    [ "$CODE" = 401 ]
}

@test "JWT routes: no token or a forged one is 401; heartbeat with a token is 200" {
    req "$URL/v1/heartbeat"
    [ "$CODE" = 401 ]
    [ "$BODY" = '{"code":401,"message":"auth header is empty"}' ]
    tok="$(token)"
    forged="${tok%.*}.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    req -H "Authorization: Bearer $forged" "$URL/v1/heartbeat"
    [ "$CODE" = 401 ]
    req -H "Authorization: Bearer $tok" "$URL/v1/heartbeat"
    [ "$CODE" = 200 ]
}

@test "malformed JSON is 400, an invalid alert 422 with go-openapi's message" {
    tok="$(token)"
    req -H "Authorization: Bearer $tok" "$URL/v1/alerts" -d '[{"scenario": '
    [ "$CODE" = 400 ]
    [ -n "$(jq -r .message <<< "$BODY")" ]
    req -H "Authorization: Bearer $tok" "$URL/v1/alerts" -d '[{}]'
    [ "$CODE" = 422 ]
    [[ "$(jq -r .message <<< "$BODY")" == $'validation failure list:\n'*"0.scenario in body is required"* ]]
}

@test "an alert with a decision: 201 with its id, the decision in GET /v1/decisions?ip= and the stream" {
    tok="$(token)"
    # fw1 starts its stream before the ban exists.
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream?startup=true"
    [ "$CODE" = 200 ]
    req -H "Authorization: Bearer $tok" "$URL/v1/alerts" -d "$(alert_json 192.0.2.7 true)"
    [ "$CODE" = 201 ]
    id="$(jq -r '.[0]' <<< "$BODY")"
    [[ "$id" =~ ^[0-9]+$ ]]
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=192.0.2.7"
    [ "$CODE" = 200 ]
    [ "$(jq -r 'length' <<< "$BODY")" = 1 ]
    [ "$(jq -r '.[0] | "\(.type) \(.scope) \(.value) \(.origin) \(.scenario)"' <<< "$BODY")" = "ban Ip 192.0.2.7 cscli manual ban" ]
    [[ "$(jq -r '.[0].duration' <<< "$BODY")" =~ ^(59m[0-9]+s|1h0m0s)$ ]]
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=192.0.2.8"
    [ "$BODY" = null ]
    # range containment: a /24 query with contains=false finds the ban inside it
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions?range=192.0.2.0/24&contains=false"
    [ "$(jq -r '.[0].value' <<< "$BODY")" = 192.0.2.7 ]
    # delta for fw1: the new ban only
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream"
    [ "$(jq -r '.new | length' <<< "$BODY")" = 1 ]
    [ "$(jq -r '.new[0].value' <<< "$BODY")" = 192.0.2.7 ]
    [ "$(jq -c .deleted <<< "$BODY")" = null ]
    # and nothing new on the next pull
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream"
    [ "$BODY" = '{"deleted":null,"new":null}' ]
    # fw2 never pulled: its startup sees the ban
    req -H "X-Api-Key: $KEY2" "$URL/v1/decisions/stream?startup=true"
    [ "$(jq -r '.new[0].value' <<< "$BODY")" = 192.0.2.7 ]
    # the alert itself
    req -H "Authorization: Bearer $tok" "$URL/v1/alerts/$id"
    [ "$CODE" = 200 ]
    [ "$(jq -r '.source.value' <<< "$BODY")" = 192.0.2.7 ]
    [ "$(jq -r '.machine_id' <<< "$BODY")" = agent1 ]
    req -H "Authorization: Bearer $tok" "$URL/v1/alerts?ip=192.0.2.7"
    [ "$(jq -r 'length' <<< "$BODY")" = 1 ]
    req -H "Authorization: Bearer $tok" "$URL/v1/alerts?bogus=1"
    [ "$CODE" = 400 ]
    req -H "Authorization: Bearer $tok" "$URL/v1/alerts/999999"
    [ "$CODE" = 404 ]
    req -H "Authorization: Bearer $tok" "$URL/v1/alerts/abc"
    [ "$CODE" = 400 ]
}

@test "DELETE /v1/decisions expires the ban: nbDeleted, gone from the list, in the stream's deleted" {
    tok="$(token)"
    req -X DELETE -H "Authorization: Bearer $tok" "$URL/v1/decisions?ip=192.0.2.7"
    [ "$CODE" = 200 ]
    [ "$BODY" = '{"nbDeleted":"1"}' ]
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=192.0.2.7"
    [ "$BODY" = null ]
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions/stream"
    [ "$(jq -r '.deleted[0].value' <<< "$BODY")" = 192.0.2.7 ]
    [ "$(jq -c .new <<< "$BODY")" = null ]
    req -X DELETE -H "X-Api-Key: $KEY" "$URL/v1/decisions"
    [ "$CODE" = 401 ]
}

@test "an alert without decisions gets them from profiles.yaml" {
    tok="$(token)"
    req -H "Authorization: Bearer $tok" "$URL/v1/alerts" -d "$(alert_json 198.51.100.9 false)"
    [ "$CODE" = 201 ]
    req -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=198.51.100.9"
    [ "$(jq -r '.[0] | "\(.type) \(.origin) \(.scenario)"' <<< "$BODY")" = "ban crowdsec crowdsecurity/ssh-bf" ]
    [[ "$(jq -r '.[0].duration' <<< "$BODY")" =~ ^(3h59m[0-9]+s|4h0m0s)$ ]]
}

@test "bodies over 2 MiB before authentication are refused with 413" {
    head -c 3000000 /dev/zero | tr '\0' 'a' > "$LTMP/big"
    req "$URL/v1/watchers" -H 'Content-Type: application/json' --data-binary @"$LTMP/big"
    [ "$CODE" = 413 ]
    # chunked, with no Content-Length announced
    req "$URL/v1/watchers" -H 'Transfer-Encoding: chunked' --data-binary @"$LTMP/big"
    [ "$CODE" = 413 ]
}

@test "SIGTERM stops phalanxd cleanly" {
    pid="$(cat "$LTMP/pid")"
    kill -TERM "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    run ! kill -0 "$pid"
    rm -f "$LTMP/pid"
    # under ASan a leak or a memory error at shutdown lands in the log
    [ "$(grep -c 'Sanitizer' "$LTMP/phalanxd.log")" = 0 ]
    grep -q 'signal 15 received, stopping' "$LTMP/phalanxd.log"
}
