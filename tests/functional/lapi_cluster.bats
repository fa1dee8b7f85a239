#!/usr/bin/env bats
# Two Local API nodes (phalanxd -no-cs) on one PostgreSQL database, as a fleet
# runs them: credentials added once serve both, an alert posted to one node
# gives a decision the other serves (GET /v1/decisions?ip= and the stream), a
# deletion on one shows in the other's stream, one node killed with -9 leaves
# the other serving, and the periodic flush runs on one node at a time.
#
# The database: a fresh one ("phx_cluster") on the server of
# PHALANX_PG_CONNINFO when set, else a throw-away cluster started with
# scripts/pg-test.sh (skipped, saying why, without PostgreSQL's binaries).
# The flush runs every second here through db_config.flush.interval, a key
# CrowdSec does not have (its flush runs every minute, our default).
# While the tests before the flush one run, this file holds the flush lease
# itself from a psql session, so no node flushes behind their back; that is
# also how the flush test shows both nodes honour a lease held elsewhere.

bats_require_minimum_version 1.5.0

# STORE_LEASE_FLUSH of src/store/store.h.
LEASE_KEY=8099856311127470952

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_node() { # name port
    # fd 3 closed: bats waits for whoever holds it.
    "$PHALANXD" -no-cs -c "$CT/$1.yaml" > "$CT/$1.log" 2>&1 3>&- &
    echo $! > "$CT/$1.pid"
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$2/health" >/dev/null && return 0
        sleep 0.1
    done
    cat "$CT/$1.log" >&2
    return 1
}

setup_file() {
    export PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    export PHALANXD="$PHALANX_BUILD/src/bin/phalanxd"
    export CT="$(mktemp -d /tmp/phx-cluster.XXXXXX)"
    local src="${PHALANX_SOURCE_ROOT:-$BATS_TEST_DIRNAME/../..}"
    if ! command -v psql >/dev/null; then
        echo "psql (PostgreSQL client) not installed" > "$CT/skip"
        return 0
    fi
    if [ -n "${PHALANX_PG_CONNINFO:-}" ]; then
        psql "$PHALANX_PG_CONNINFO" -qc "DROP DATABASE IF EXISTS phx_cluster" -c "CREATE DATABASE phx_cluster" >&2
        CI="$(tr ' ' '\n' <<< "$PHALANX_PG_CONNINFO" | grep -v '^dbname=' | tr '\n' ' ')dbname=phx_cluster"
    elif ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
        echo "PostgreSQL server binaries not found (apt-get install postgresql)" > "$CT/skip"
        return 0
    else
        export PGDIR="$(mktemp -d /tmp/phx-cluster-pg.XXXXXX)"
        echo "$PGDIR" > "$CT/pgdir"
        CI="$(sh "$src/scripts/pg-test.sh" start "$PGDIR" 3>&-)"
    fi
    export CI
    export CS_LAPI_SECRET="cluster-test-secret-shared-by-both-nodes-0123456789abcdefghijklmnopqrstuvwxyz"
    cat > "$CT/profiles.yaml" <<'YAML'
name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
on_success: break
YAML
    db="$(tr ' ' '\n' <<< "$CI" | sed -n 's/^host=/  host: /p; s/^port=/  port: /p; s/^user=/  user: /p; s/^dbname=/  db_name: /p; s/^password=/  password: /p')"
    export PORT_A="$(free_port)" PORT_B="$(free_port)"
    export URL_A="http://127.0.0.1:$PORT_A" URL_B="http://127.0.0.1:$PORT_B"
    for n in a b; do
        port=$PORT_A
        [ $n = b ] && port=$PORT_B
        cat > "$CT/$n.yaml" <<YAML
api:
  server:
    listen_uri: 127.0.0.1:$port
    profiles_path: $CT/profiles.yaml
db_config:
  type: postgres
$db
  flush:
    max_items: 5000
    max_age: 3s
    interval: 1s
YAML
    done
    # The lease, held by "another node" until the flush test lets it go.
    PGAPPNAME=phx_lease_holder psql "$CI" -qAt -c "SELECT pg_advisory_lock($LEASE_KEY)" \
        -c "SELECT pg_sleep(300)" > /dev/null 2>&1 3>&- &
    echo $! > "$CT/holder.pid"
    for _ in $(seq 100); do
        [ "$(psql "$CI" -qAt -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" = 1 ] && break
        sleep 0.1
    done
    # Credentials are added once, through either node's configuration.
    export KEY="$("$PHALANX" bouncers add fw1 -o raw -c "$CT/a.yaml")"
    "$PHALANX" machines add agent1 -p 'S3cret!pw' -c "$CT/b.yaml" 2>/dev/null
    start_node a "$PORT_A"
    start_node b "$PORT_B"
}

# Ends the psql session holding the lease (a backend in pg_sleep does not
# notice its client going away, so it is terminated server-side).
release_holder() {
    if [ -f "$CT/holder.pid" ]; then
        psql "$CI" -qAt -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                            WHERE application_name = 'phx_lease_holder'" > /dev/null
        wait "$(cat "$CT/holder.pid")" 2>/dev/null || true
        rm -f "$CT/holder.pid"
    fi
}

teardown_file() {
    [ -f "$CT/skip" ] || release_holder
    for f in a.pid b.pid single.pid; do
        if [ -f "$CT/$f" ]; then
            kill -TERM "$(cat "$CT/$f")" 2>/dev/null || true
            wait "$(cat "$CT/$f")" 2>/dev/null || true
        fi
    done
    if [ -f "$CT/pgdir" ]; then
        sh "${PHALANX_SOURCE_ROOT:-$BATS_TEST_DIRNAME/../..}/scripts/pg-test.sh" stop "$(cat "$CT/pgdir")"
    fi
    [ -n "${KEEP_LAPI_TMP:-}" ] || rm -rf "$CT"
}

# The tests named "single node: ..." need no PostgreSQL.
setup() {
    if [ -f "$CT/skip" ] && [[ "$BATS_TEST_DESCRIPTION" != "single node: "* ]]; then
        skip "$(cat "$CT/skip")"
    fi
}

req() {
    curl -s -o "$CT/body" -w '%{http_code}' "$@" > "$CT/code"
    CODE="$(cat "$CT/code")"
    BODY="$(cat "$CT/body")"
}

token() { # url
    curl -s "$1/v1/watchers/login" -H 'User-Agent: crowdsec/v1.6.0' \
        -d '{"machine_id":"agent1","password":"S3cret!pw","scenarios":["crowdsecurity/ssh-bf"]}' | jq -r .token
}

alert_json() { # ip, stop_at, decisions
    cat <<JSON
[{"capacity":5,"events":[],"events_count":6,"leakspeed":"10s","message":"test alert","scenario":"crowdsecurity/ssh-bf",
  "scenario_hash":"abc","scenario_version":"0.1","simulated":false,"remediation":true,
  "start_at":"$2","stop_at":"$2",
  "source":{"scope":"Ip","value":"$1","ip":"$1"},"decisions":$3}]
JSON
}

now_rfc3339() { date -u +%Y-%m-%dT%H:%M:%SZ; }

sql() { psql "$CI" -qAt -c "$1"; }

# Waits up to $2 tenths of a second for the shell condition $1.
wait_for() {
    for _ in $(seq "$2"); do
        eval "$1" && return 0
        sleep 0.1
    done
    return 1
}

@test "both nodes are up on the same database" {
    req "$URL_A/health"
    [ "$CODE" = 200 ]
    req "$URL_B/health"
    [ "$CODE" = 200 ]
    # Both migrated the same schema once: one schema_version row per migration.
    [ "$(sql "SELECT count(*) FROM schema_version")" = "$(sql "SELECT max(version) FROM schema_version")" ]
}

@test "the bouncer and the machine added once work on both nodes" {
    req -H "X-Api-Key: $KEY" "$URL_A/v1/decisions"
    [ "$CODE" = 200 ]
    req -H "X-Api-Key: $KEY" "$URL_B/v1/decisions"
    [ "$CODE" = 200 ]
    [ -n "$(token "$URL_A")" ] && [ "$(token "$URL_A")" != null ]
    [ -n "$(token "$URL_B")" ] && [ "$(token "$URL_B")" != null ]
}

@test "an alert posted to node A gives a decision that node B serves, by ip and in the stream" {
    req -H "X-Api-Key: $KEY" "$URL_B/v1/decisions/stream?startup=true"
    [ "$CODE" = 200 ]
    req -H "Authorization: Bearer $(token "$URL_A")" "$URL_A/v1/alerts" \
        -d "$(alert_json 192.0.2.10 "$(now_rfc3339)" '[]')"
    [ "$CODE" = 201 ]
    req -H "X-Api-Key: $KEY" "$URL_B/v1/decisions?ip=192.0.2.10"
    [ "$CODE" = 200 ]
    [ "$(jq -r '.[0].value + " " + .[0].type + " " + .[0].origin' <<< "$BODY")" = "192.0.2.10 ban crowdsec" ]
    req -H "X-Api-Key: $KEY" "$URL_B/v1/decisions/stream"
    [ "$CODE" = 200 ]
    [ "$(jq -r '[.new[].value] | join(",")' <<< "$BODY")" = 192.0.2.10 ]
    # Node A answers the same.
    req -H "X-Api-Key: $KEY" "$URL_A/v1/decisions?ip=192.0.2.10"
    [ "$(jq -r '.[0].value' <<< "$BODY")" = 192.0.2.10 ]
}

@test "a decision deleted on node B is in node A's stream as deleted" {
    req -H "X-Api-Key: $KEY" "$URL_A/v1/decisions/stream?startup=true"
    [ "$(jq -r '[.new[].value] | join(",")' <<< "$BODY")" = 192.0.2.10 ]
    req -X DELETE -H "Authorization: Bearer $(token "$URL_B")" "$URL_B/v1/decisions?ip=192.0.2.10"
    [ "$CODE" = 200 ]
    [ "$(jq -r .nbDeleted <<< "$BODY")" = 1 ]
    req -H "X-Api-Key: $KEY" "$URL_A/v1/decisions/stream"
    [ "$CODE" = 200 ]
    [ "$(jq -r '[.deleted[].value] | join(",")' <<< "$BODY")" = 192.0.2.10 ]
    [ "$(jq -r .new <<< "$BODY")" = null ]
    req -H "X-Api-Key: $KEY" "$URL_A/v1/decisions?ip=192.0.2.10"
    [ "$BODY" = null ]
}

@test "flush: no node flushes while the lease is held elsewhere; then exactly one does it" {
    local t
    t="$(token "$URL_A")"
    # An alert whose ban expired an hour ago, and one with an active ban.
    req -H "Authorization: Bearer $t" "$URL_A/v1/alerts" \
        -d "$(alert_json 192.0.2.20 "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" \
            '[{"duration":"30m","origin":"cscli","scenario":"old ban","scope":"Ip","type":"ban","value":"192.0.2.20"}]')"
    [ "$CODE" = 201 ]
    req -H "Authorization: Bearer $t" "$URL_B/v1/alerts" -d "$(alert_json 192.0.2.21 "$(now_rfc3339)" '[]')"
    [ "$CODE" = 201 ]
    [ "$(sql "SELECT count(*) FROM alerts")" = 3 ]
    # Both nodes tried and stood back (the lease has been held since they started).
    wait_for 'grep -q "lease held by another LAPI node" "$CT/a.log" && grep -q "lease held by another LAPI node" "$CT/b.log"' 50
    sleep 4 # every alert is now older than max_age (3s)
    [ "$(sql "SELECT count(*) FROM alerts")" = 3 ]
    ! grep -q "flushed" "$CT/a.log" "$CT/b.log"
    # The holder goes away: one node takes the lease and deletes the two alerts
    # without an active decision (192.0.2.10's was deleted, 192.0.2.20's expired).
    release_holder
    wait_for '[ "$(sql "SELECT count(*) FROM alerts")" = 1 ]' 100
    [ "$(sql "SELECT source_value FROM alerts")" = 192.0.2.21 ]
    [ "$(sql "SELECT count(*) FROM decisions WHERE value IN ('192.0.2.10', '192.0.2.20')")" = 0 ]
    sleep 2 # a few more runs on both nodes
    run -0 cat "$CT/a.log" "$CT/b.log"
    [ "$(grep -c 'flushed 2/3 alerts because they were created 3s ago or more' <<< "$output")" = 1 ]
    [ "$(grep -c 'flushed' <<< "$output")" = 1 ]
    # The node that did not run it logged nothing else about it.
    ! grep -q "flush: .*\(cannot\|error\)" "$CT/a.log" "$CT/b.log"
    req -H "X-Api-Key: $KEY" "$URL_B/v1/decisions?ip=192.0.2.21"
    [ "$(jq -r '.[0].value' <<< "$BODY")" = 192.0.2.21 ]
}

@test "kill -9 of node A: node B keeps serving, takes alerts and flushes alone" {
    kill -9 "$(cat "$CT/a.pid")"
    wait "$(cat "$CT/a.pid")" 2>/dev/null || true
    rm -f "$CT/a.pid"
    ! curl -sf "$URL_A/health"
    req -H "X-Api-Key: $KEY" "$URL_B/v1/decisions?ip=192.0.2.21"
    [ "$CODE" = 200 ]
    [ "$(jq -r '.[0].value' <<< "$BODY")" = 192.0.2.21 ]
    req -H "Authorization: Bearer $(token "$URL_B")" "$URL_B/v1/alerts" \
        -d "$(alert_json 192.0.2.30 "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" \
            '[{"duration":"1m","origin":"cscli","scenario":"old ban","scope":"Ip","type":"ban","value":"192.0.2.30"}]')"
    [ "$CODE" = 201 ]
    req -H "X-Api-Key: $KEY" "$URL_B/v1/decisions/stream"
    [ "$CODE" = 200 ]
    # Whatever node A held died with its connection: B flushes the expired alert.
    wait_for '[ "$(sql "SELECT count(*) FROM alerts WHERE source_value = '"'192.0.2.30'"'")" = 0 ]' 100
    grep -q "flushed 1/2 alerts because they were created 3s ago or more" "$CT/b.log"
    req "$URL_B/health"
    [ "$CODE" = 200 ]
}

sqlite_config() { # file port interval [flush keys...]
    local f="$1" port="$2" interval="$3"
    shift 3
    cat > "$f" <<YAML
api:
  server:
    listen_uri: 127.0.0.1:$port
    profiles_path: $CT/profiles.yaml
db_config:
  type: sqlite
  db_path: $CT/single.db
  flush:
    interval: $interval
$(for k in "$@"; do echo "    $k"; done)
YAML
}

@test "single node: bad db_config.flush settings stop phalanxd at start with a message" {
    local port
    port="$(free_port)"
    sqlite_config "$CT/bad.yaml" "$port" 1s "max_items: 0"
    run -1 "$PHALANXD" -no-cs -c "$CT/bad.yaml"
    [[ "$output" == *"db_config.flush.max_items can't be zero or negative"* ]]
    sqlite_config "$CT/bad.yaml" "$port" 1s "max_age: 7days"
    run -1 "$PHALANXD" -no-cs -c "$CT/bad.yaml"
    [[ "$output" == *"db_config.flush.max_age: invalid duration '7days'"* ]]
    sqlite_config "$CT/bad.yaml" "$port" 0s
    run -1 "$PHALANXD" -no-cs -c "$CT/bad.yaml"
    [[ "$output" == *"db_config.flush.interval must be positive"* ]]
}

@test "single node: SQLite flushes too (the lease is always its own), and a long interval does not delay shutdown" {
    local port url t start
    port="$(free_port)"
    url="http://127.0.0.1:$port"
    [ -f "$CT/profiles.yaml" ] || printf 'name: p\nfilters:\n - Alert.Remediation == true\ndecisions:\n - type: ban\n   duration: 4h\non_success: break\n' > "$CT/profiles.yaml"
    sqlite_config "$CT/single.yaml" "$port" 1s "max_age: 2s"
    "$PHALANX" machines add solo -p 'S3cret!pw' -c "$CT/single.yaml" 2>/dev/null
    start_node single "$port"
    t="$(curl -s "$url/v1/watchers/login" -d '{"machine_id":"solo","password":"S3cret!pw"}' | jq -r .token)"
    req -H "Authorization: Bearer $t" "$url/v1/alerts" \
        -d "$(alert_json 198.51.100.1 "$(date -u -d '-1 hour' +%Y-%m-%dT%H:%M:%SZ)" \
            '[{"duration":"1m","origin":"cscli","scenario":"old ban","scope":"Ip","type":"ban","value":"198.51.100.1"}]')"
    [ "$CODE" = 201 ]
    req -H "Authorization: Bearer $t" "$url/v1/alerts" -d "$(alert_json 198.51.100.2 "$(now_rfc3339)" '[]')"
    [ "$CODE" = 201 ]
    wait_for '[ "$(curl -s -H "Authorization: Bearer $t" "$url/v1/alerts" | jq length)" = 1 ]' 100
    [ "$(curl -s -H "Authorization: Bearer $t" "$url/v1/alerts" | jq -r '.[0].source.value')" = 198.51.100.2 ]
    grep -q "flushed 1/2 alerts because they were created 2s ago or more" "$CT/single.log"
    ! grep -q "lease held by another" "$CT/single.log"
    kill -TERM "$(cat "$CT/single.pid")"
    wait "$(cat "$CT/single.pid")" || true
    rm -f "$CT/single.pid"
    # With an hour between runs, SIGTERM still ends the node at once.
    sqlite_config "$CT/single.yaml" "$port" 1h "max_age: 2s"
    start_node single "$port"
    start=$(date +%s%N)
    kill -TERM "$(cat "$CT/single.pid")"
    wait "$(cat "$CT/single.pid")" || true
    rm -f "$CT/single.pid"
    [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 2000 ]
}
