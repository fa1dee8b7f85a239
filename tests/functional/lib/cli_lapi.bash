# cli_lapi.bash - loaded by cli_alerts.bats and cli_decisions.bats: a phalanxd Local API on
# loopback (SQLite, or PostgreSQL with PHALANX_LAPI_DB=postgres), the machine credentials
# phalanx uses, and helpers to fill its database.

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
