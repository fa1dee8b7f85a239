#!/usr/bin/env bats
# `phalanx machines|bouncers|lapi`, acting on the store as cscli does:
# add (by name or --auto with a credentials file), list and inspect in human,
# JSON and raw output, validate, delete, prune; `lapi status` logging in with
# the credentials file against a running phalanxd, and `lapi register`.
# PHALANX_LAPI_DB=postgres with PHALANX_PG_CONNINFO runs it on PostgreSQL.

bats_require_minimum_version 1.5.0

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

setup_file() {
    export PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    export PHALANXD="$PHALANX_BUILD/src/bin/phalanxd"
    export MTMP="$(mktemp -d)"
    export PORT="$(free_port)"
    if [ "${PHALANX_LAPI_DB:-sqlite}" = postgres ]; then
        db="db_config:
  type: postgres
$(tr ' ' '\n' <<< "${PHALANX_PG_CONNINFO:-}" | sed -n 's/^host=/  host: /p; s/^port=/  port: /p; s/^user=/  user: /p; s/^dbname=/  db_name: /p; s/^password=/  password: /p')"
    else
        db="db_config:
  type: sqlite
  db_path: $MTMP/phalanx.db"
    fi
    cat > "$MTMP/config.yaml" <<YAML
api:
  client:
    credentials_path: $MTMP/local_api_credentials.yaml
  server:
    listen_uri: 127.0.0.1:$PORT
$db
YAML
    export CONFIG="$MTMP/config.yaml"
}

teardown_file() {
    [ -f "$MTMP/pid" ] && kill -9 "$(cat "$MTMP/pid")" 2>/dev/null || true
    rm -rf "$MTMP"
}

setup() {
    if [ "${PHALANX_LAPI_DB:-sqlite}" = postgres ] && [ -z "${PHALANX_PG_CONNINFO:-}" ]; then
        skip "PHALANX_LAPI_DB=postgres needs PHALANX_PG_CONNINFO"
    fi
}

@test "machines add NAME -p, list in human, JSON and raw" {
    run -0 "$PHALANX" machines add m1 -p 'pw-one-123' -c "$CONFIG"
    [[ "$output" == *"Machine 'm1' successfully added to the local API."* ]]
    run -1 "$PHALANX" machines add m1 -p 'pw-one-123' -c "$CONFIG"
    [[ "$output" == *"user already exist (use --force"* ]]
    run -0 "$PHALANX" machines add m1 -p 'pw-one-456' --force -c "$CONFIG"
    run -0 "$PHALANX" machines list -c "$CONFIG"
    [[ "$output" == *"Name"*"IP Address"*"Last Update"*"Status"*"Last Heartbeat"* ]]
    [[ "$output" == *" m1 "* ]]
    run -0 "$PHALANX" machines list -o json -c "$CONFIG"
    [ "$(jq -r '.[] | select(.machineId == "m1") | [.isValidated, .auth_type] | @tsv' <<< "$output")" = "$(printf 'true\tpassword')" ]
    # keys cscli 1.4.6 prints for a fresh machine (ent's omitempty drops the empty ones)
    [ "$(jq -c '.[0] | keys' <<< "$output")" = '["auth_type","created_at","edges","id","isValidated","last_heartbeat","last_push","machineId","updated_at"]' ]
    run -0 "$PHALANX" machines list -o raw -c "$CONFIG"
    [ "${lines[0]}" = "machine_id,ip_address,updated_at,validated,version,auth_type,last_heartbeat" ]
    [[ "${lines[1]}" == m1,,*,true,,password,- ]]
}

@test "machines add --auto writes working credentials; lapi status logs in with them" {
    run -0 "$PHALANX" machines add --auto -c "$CONFIG"
    [[ "$output" == *"API credentials written to '$MTMP/local_api_credentials.yaml'."* ]]
    [ "$(stat -c %a "$MTMP/local_api_credentials.yaml")" = 600 ]
    login="$(awk '/^login:/ {print $2}' "$MTMP/local_api_credentials.yaml" | tr -d '"')"
    [ "${#login}" -ge 32 ]
    grep -q "^url: http://127.0.0.1:$PORT/" "$MTMP/local_api_credentials.yaml"
    run -0 "$PHALANX" machines inspect "$login" -o json -c "$CONFIG"
    [ "$(jq -r .machineId <<< "$output")" = "$login" ]
    # -f - prints them instead
    run -0 "$PHALANX" machines add m-stdout --auto -f - -c "$CONFIG"
    [[ "$output" == *"login: m-stdout"* ]]

    "$PHALANXD" -c "$CONFIG" -no-cs > "$MTMP/phalanxd.log" 2>&1 &
    echo $! > "$MTMP/pid"
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.1; done
    run -0 "$PHALANX" lapi status -c "$CONFIG"
    [[ "$output" == *"You can successfully interact with Local API (LAPI)"* ]]
    # the heartbeat of lapi status is recorded
    run -0 "$PHALANX" machines inspect "$login" -c "$CONFIG"
    [[ "$output" == *"Last Heartbeat"*"20"* ]]
}

@test "lapi register creates a machine to validate; status fails until then" {
    run -0 "$PHALANX" lapi register -u "http://127.0.0.1:$PORT/" --machine reg1 -f "$MTMP/reg.yaml" -c "$CONFIG"
    [[ "$output" == *"phalanx machines validate reg1"* ]]
    run -0 "$PHALANX" machines list -o json -c "$CONFIG"
    [ "$(jq -r '.[] | select(.machineId == "reg1") | .isValidated' <<< "$output")" = false ]
    sed "s|$MTMP/local_api_credentials.yaml|$MTMP/reg.yaml|" "$CONFIG" > "$MTMP/reg-config.yaml"
    run -1 "$PHALANX" lapi status -c "$MTMP/reg-config.yaml"
    [[ "$output" == *"failed to authenticate"* ]]
    run -0 "$PHALANX" machines validate reg1 -c "$CONFIG"
    run -0 "$PHALANX" lapi status -c "$MTMP/reg-config.yaml"
    kill -TERM "$(cat "$MTMP/pid")"
    rm -f "$MTMP/pid"
}

@test "machines delete and prune" {
    run -0 "$PHALANX" machines add old1 -p 'pw-old-123' -c "$CONFIG"
    run -0 "$PHALANX" machines delete m-stdout -c "$CONFIG"
    run -1 "$PHALANX" machines delete nosuch -c "$CONFIG"
    [[ "$output" == *"unable to delete machine 'nosuch'"* ]]
    # nothing is stale with the default 10m: prune without --force only says what it would do
    run -0 "$PHALANX" machines prune -d 1ns -c "$CONFIG"
    [[ "$output" == *"would prune machine 'old1'"* ]]
    run -0 "$PHALANX" machines list -o json -c "$CONFIG"
    jq -e '.[] | select(.machineId == "old1")' <<< "$output" >/dev/null
    run -0 "$PHALANX" machines prune -d 1ns --force -c "$CONFIG"
    run -0 "$PHALANX" machines list -o json -c "$CONFIG"
    [ "$(jq length <<< "$output")" = 0 ]
    run -1 "$PHALANX" machines prune -d soon -c "$CONFIG"
    [[ "$output" == *"invalid duration 'soon'"* ]]
}

@test "bouncers add, list, inspect in human, JSON and raw; delete; prune" {
    run -0 "$PHALANX" bouncers add fw -o raw -c "$CONFIG"
    key="$output"
    [ "${#key}" -ge 32 ]
    run -0 "$PHALANX" bouncers add fw2 -k 'my-own-key-0123456789' -o json -c "$CONFIG"
    [ "$output" = '"my-own-key-0123456789"' ]
    run -1 "$PHALANX" bouncers add fw -c "$CONFIG"
    [[ "$output" == *"bouncer fw already exists"* ]]
    run -0 "$PHALANX" bouncers list -c "$CONFIG"
    [[ "$output" == *"Name"*"IP Address"*"Valid"*"Last API pull"*"Type"*"Version"*"Auth Type"* ]]
    run -0 "$PHALANX" bouncers list -o json -c "$CONFIG"
    [ "$(jq -r '.[0] | [.name, .revoked, .auth_type] | @tsv' <<< "$output")" = "$(printf 'fw\tfalse\tapi-key')" ]
    [ "$(jq -r '.[0].api_key | length' <<< "$output")" = 128 ]
    run -0 "$PHALANX" bouncers list -o raw -c "$CONFIG"
    [ "${lines[0]}" = "name,ip,revoked,last_pull,type,version,auth_type" ]
    [[ "${lines[1]}" == fw,,validated,,,,api-key ]]
    run -0 "$PHALANX" bouncers inspect fw2 -c "$CONFIG"
    [[ "$output" == *"Auth type"*"api-key"* ]]
    run -1 "$PHALANX" bouncers inspect nosuch -c "$CONFIG"
    [[ "$output" == *"bouncer 'nosuch' not found"* ]]
    run -0 "$PHALANX" bouncers delete fw2 -c "$CONFIG"
    run -0 "$PHALANX" bouncers prune -d 1ns --force -c "$CONFIG"
    [[ "$output" == *"1 bouncer(s) pruned"* ]]
    run -0 "$PHALANX" bouncers list -o json -c "$CONFIG"
    [ "$output" = "[]" ]
}
