#!/usr/bin/env bats
# POST /v1/usage-metrics (CrowdSec 1.6): a bouncer (API key) or a machine
# (JWT) pushes its metrics; bad JSON types are 400, swagger violations 422
# with go-swagger's validation list, the wrong kind of data 400; what was
# pushed shows in `bouncers inspect` / `machines inspect`.
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
    if [ "${PHALANX_LAPI_DB:-sqlite}" = postgres ]; then
        local ci="$PHALANX_PG_CONNINFO" db=phx_usage_metrics_bats
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

# What crowdsec-firewall-bouncer sends.
RC_BODY='{"remediation_components":[{"version":"v0.0.31","os":{"name":"debian","version":"12"},
 "feature_flags":["ff1","ff2"],"utc_startup_timestamp":1700000000,"type":"crowdsec-firewall-bouncer",
 "metrics":[{"meta":{"window_size_seconds":1800,"utc_now_timestamp":1700001800},
  "items":[{"name":"dropped","value":12.0,"unit":"packet","labels":{"origin":"CAPI","ip_type":"ipv4"}}]}]}]}'

LP_BODY='{"log_processors":[{"version":"v1.6.3","os":{"name":"ubuntu","version":"24.04"},
 "utc_startup_timestamp":1700000000,"datasources":{"file":2,"journalctl":1},
 "hub_items":{"collections":[{"name":"crowdsecurity/linux","status":"official","version":"0.2"}]},
 "metrics":[]}]}'

@test "a bouncer pushes its metrics: 201, no body, stored as CrowdSec's payload" {
    req -H "X-Api-Key: $KEY" "$URL/v1/usage-metrics" -d "$RC_BODY"
    [ "$CODE" = 201 ]
    [ -z "$BODY" ]
    run -0 "$PHALANX" bouncers inspect fw1 -c "$CFG"
    [[ "$output" == *OS*"debian/12"* ]]
    [[ "$output" == *"Feature Flags"*ff1*"Feature Flags"*ff2* ]]
    if [ "${PHALANX_LAPI_DB:-sqlite}" = sqlite ]; then
        payload="$(sqlite3 "$LTMP/phalanx.db" "SELECT payload FROM metrics WHERE generated_type = 'RC' AND generated_by = 'fw1'")"
        [ "$payload" = '{"metrics":[{"items":[{"labels":{"ip_type":"ipv4","origin":"CAPI"},"name":"dropped","unit":"packet","value":12}],"meta":{"utc_now_timestamp":1700001800,"window_size_seconds":1800}}],"type":"crowdsec-firewall-bouncer"}' ]
    fi
}

@test "a machine pushes its metrics; inspect shows OS, datasources, collections" {
    req -H "$(auth)" -A 'crowdsec/v1.6.3' "$URL/v1/usage-metrics" -d "$LP_BODY"
    [ "$CODE" = 201 ]
    run -0 "$PHALANX" machines inspect agent1 -c "$CFG"
    [[ "$output" == *OS*"ubuntu/24.04"* ]]
    [[ "$output" == *Datasources*"file: 2"* ]]
    [[ "$output" == *Datasources*"journalctl: 1"* ]]
    [[ "$output" == *Collections*"crowdsecurity/linux"* ]]
}

@test "inspect without metrics shows OS ?" {
    "$PHALANX" bouncers add fw2 -k 0123456789abcdef0123456789abcdef -c "$CFG" >/dev/null
    run -0 "$PHALANX" bouncers inspect fw2 -c "$CFG"
    [[ "$output" == *OS*"?"* ]]
    [[ "$output" != *"Feature Flags"* ]]
}

@test "the wrong kind of data, or too much of it, is 400" {
    req -H "X-Api-Key: $KEY" "$URL/v1/usage-metrics" -d "$LP_BODY"
    [ "$CODE" = 400 ]
    [ "$BODY" = '{"message":"Missing remediation component data"}' ]
    req -H "$(auth)" "$URL/v1/usage-metrics" -d "$RC_BODY"
    [ "$CODE" = 400 ]
    [ "$BODY" = '{"message":"Missing log processor data"}' ]
    two="$(jq -c '.remediation_components += .remediation_components' <<< "$RC_BODY")"
    req -H "X-Api-Key: $KEY" "$URL/v1/usage-metrics" -d "$two"
    [ "$CODE" = 400 ]
    [ "$BODY" = '{"message":"Payload has more than one remediation component"}' ]
    two="$(jq -c '.log_processors += .log_processors' <<< "$LP_BODY")"
    req -H "$(auth)" "$URL/v1/usage-metrics" -d "$two"
    [ "$CODE" = 400 ]
    [ "$BODY" = '{"message":"Payload has more than one log processor"}' ]
    req -H "X-Api-Key: $KEY" "$URL/v1/usage-metrics" -d '{"remediation_components":'
    [ "$CODE" = 400 ]
    req -H "X-Api-Key: $KEY" "$URL/v1/usage-metrics" -d '[]'
    [ "$CODE" = 400 ]
    req -H "X-Api-Key: $KEY" "$URL/v1/usage-metrics" -d '{"remediation_components":[{"version":3,"utc_startup_timestamp":1}]}'
    [ "$CODE" = 400 ]
    [[ "$BODY" == *"cannot unmarshal number into Go struct field"*"version of type string"* ]]
    req -H "X-Api-Key: $KEY" "$URL/v1/usage-metrics" -d '{"remediation_components":[{"version":"1","utc_startup_timestamp":1.5}]}'
    [ "$CODE" = 400 ]
    [[ "$BODY" == *"cannot unmarshal number 1.5"*"of type int64"* ]]
    python3 -c 'print("{\"remediation_components\":[{\"version\":\"" + "x" * 1100000 + "\"}]}")' > "$LTMP/big"
    req -H "X-Api-Key: $KEY" "$URL/v1/usage-metrics" --data-binary "@$LTMP/big"
    [ "$CODE" = 413 ]
}

@test "swagger violations are 422 with go-swagger's validation list" {
    req -H "X-Api-Key: $KEY" "$URL/v1/usage-metrics" -d '{"remediation_components":[{}]}'
    [ "$CODE" = 422 ]
    [ "$(jq -r .message <<< "$BODY")" = "validation failure list:
remediation_components.0.utc_startup_timestamp in body is required
remediation_components.0.version in body is required" ]
    long="$(printf 'v%.0s' $(seq 256))"
    req -H "X-Api-Key: $KEY" "$URL/v1/usage-metrics" \
        -d '{"remediation_components":[{"version":"'"$long"'","utc_startup_timestamp":1,"os":{"name":"x"},"metrics":[{"meta":{"window_size_seconds":1},"items":[{"name":"a","unit":"b"}]}]}]}'
    [ "$CODE" = 422 ]
    [ "$(jq -r .message <<< "$BODY")" = "validation failure list:
remediation_components.0.metrics.0.items.0.value in body is required
remediation_components.0.metrics.0.meta.utc_now_timestamp in body is required
remediation_components.0.os.version in body is required
remediation_components.0.version in body should be at most 255 chars long" ]
    req -H "$(auth)" "$URL/v1/usage-metrics" -d '{"log_processors":[{"version":"1","utc_startup_timestamp":1}]}'
    [ "$CODE" = 422 ]
    [ "$(jq -r .message <<< "$BODY")" = "validation failure list:
log_processors.0.datasources in body is required
log_processors.0.hub_items in body is required" ]
}

@test "authentication: no credential or a wrong one is refused" {
    req "$URL/v1/usage-metrics" -d "$RC_BODY"
    [ "$CODE" = 403 ]
    req -H "X-Api-Key: nope" "$URL/v1/usage-metrics" -d "$RC_BODY"
    [ "$CODE" = 403 ]
    req -H "Authorization: Bearer nope" "$URL/v1/usage-metrics" -d "$LP_BODY"
    [ "$CODE" = 401 ]
    req -A 'crowdsec/v1.6.3' "$URL/v1/usage-metrics" -d "$LP_BODY"
    [ "$CODE" = 401 ]
    req -X POST -H "X-Api-Key: $KEY" "$URL/v1/usage-metrics"
    [ "$CODE" = 400 ]
}
