#!/usr/bin/env bats
# The seed demo (CrowdSec's Conf42 2021 talk) scripted end to end with the
# real binaries, as an operator runs them: `phalanx hub update` and
# `collections install` of nginx and sshd from the local hub ($HUB), then
# `phalanxd -c config.yaml` (the Local API and the live agent in one process)
# reading an nginx access log of a Nikto scan and an sshd brute force through
# acquis.yaml in mode cat; the agent ships its alerts to the Local API, so
# `phalanx decisions list` shows the bans, `alerts inspect` shows why, a
# bouncer sees the ban, `decisions delete -i IP` lifts it, and after a local
# edit the hub items report enabled/tainted. The tests share one daemon and run
# in order. Without the hub every test skips and says so.
# Needs PHALANX_BUILD (a meson build dir). PHALANX_LAPI_DB=postgres with
# PHALANX_PG_CONNINFO="host=... port=... user=... dbname=..." runs it on PostgreSQL.

bats_require_minimum_version 1.5.0

SCANNER=203.0.113.7  # Nikto against nginx
BRUTE=198.51.100.23  # sshd brute force
VISITOR=192.0.2.10   # a legitimate visitor with one ssh typo: never banned

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Polls COMMAND... every 0.2 s until it succeeds, for at most SECONDS.
wait_until() {
    local secs=$1
    shift
    for _ in $(seq $((secs * 5))); do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}

daemon_log_has() {
    grep -q -- "$1" "$DTMP/phalanxd.log"
}

# True when both attackers have a ban in the Local API.
both_banned() {
    local out
    out="$("$PHALANX" -c "$CONFIG" decisions list -o json 2>/dev/null)" || return 1
    [ "$(jq -r '[.[].decisions[].value] | unique | join(" ")' <<<"$out")" = "$BRUTE $SCANNER" ]
}

# A Nikto-like scan (404s on many paths, sensitive files, Nikto's user agent) among normal traffic.
nginx_log() {
    local now i=0
    now="$(LC_ALL=C date '+%d/%b/%Y:%H:%M:%S %z')"
    local ua='Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0'
    echo "$VISITOR - - [$now] \"GET / HTTP/1.1\" 200 612 \"-\" \"$ua\""
    for p in /admin/ /phpmyadmin/ /.env /.git/config /backup.sql /wp-login.php /cgi-bin/test.cgi \
        /server-status /config.php.bak /db.sql.gz /.htpasswd /old/ /test/ /manager/html /console/; do
        i=$((i + 1))
        echo "$SCANNER - - [$now] \"GET $p HTTP/1.1\" 404 153 \"-\" \"Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:$(printf %06d $i))\""
    done
    echo "$VISITOR - - [$now] \"GET /favicon.ico HTTP/1.1\" 200 1406 \"-\" \"$ua\""
}

# Eight invalid users from the brute forcer, one from the visitor.
auth_log() {
    local now
    now="$(LC_ALL=C date '+%b %e %H:%M:%S')"
    for i in $(seq 8); do
        echo "$now web01 sshd[$((2000 + i))]: Invalid user admin$i from $BRUTE port $((50000 + i))"
    done
    echo "$now web01 sshd[2100]: Invalid user oracle from $VISITOR port 40000"
}

setup_file() {
    export PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    export PHALANXD="$PHALANX_BUILD/src/bin/phalanxd"
    ROOT="${PHALANX_SOURCE_ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}"
    export PHALANX_SOURCE_ROOT="$ROOT"
    HUBDIR="${HUB:-$ROOT/../shared/hub}"
    if [[ "$HUBDIR" != /* && -d "$ROOT/$HUBDIR" ]]; then HUBDIR="$ROOT/$HUBDIR"; fi
    # bats 1.8 cannot skip from setup_file: setup() skips each test with this reason.
    export SEED_SKIP=""
    if [ ! -f "$HUBDIR/.index.json" ]; then
        SEED_SKIP="no hub index at $HUBDIR/.index.json (set HUB)"
    elif [ ! -d "$HUBDIR/patterns" ]; then
        SEED_SKIP="no grok patterns at $HUBDIR/patterns"
    elif [ "${PHALANX_LAPI_DB:-sqlite}" = postgres ] && [ -z "${PHALANX_PG_CONNINFO:-}" ]; then
        SEED_SKIP="PHALANX_LAPI_DB=postgres needs PHALANX_PG_CONNINFO"
    fi
    [ -z "$SEED_SKIP" ] || return 0
    HUBDIR="$(cd "$HUBDIR" && pwd)"
    # The hub commands fetch from here (index, items, and data files from $HUBDIR/data).
    export PHALANX_HUB_URL="$HUBDIR"
    unset PHALANX_HUB_DATA_DIR PHALANX_CONFIG
    export DTMP="$(mktemp -d)"
    export PORT="$(free_port)"
    export URL="http://127.0.0.1:$PORT"
    local c="$DTMP/etc"
    export CONFIG="$c/config.yaml"
    mkdir -p "$c" "$DTMP/data" "$DTMP/log"
    # What a package installs besides hub items: the grok patterns and the profiles.
    cp -r "$HUBDIR/patterns" "$c/patterns"
    cat > "$c/profiles.yaml" <<'YAML'
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
$(tr ' ' '\n' <<<"$PHALANX_PG_CONNINFO" | sed -n 's/^host=/  host: /p; s/^port=/  port: /p; s/^user=/  user: /p; s/^dbname=/  db_name: /p; s/^password=/  password: /p')"
    else
        db="db_config:
  type: sqlite
  db_path: $DTMP/data/phalanx.db"
    fi
    cat > "$CONFIG" <<YAML
config_paths:
  config_dir: $c/
  data_dir: $DTMP/data/
  hub_dir: $c/hub/
  index_path: $c/hub/.index.json
  simulation_path: $c/simulation.yaml
crowdsec_service:
  acquisition_path: $c/acquis.yaml
api:
  client:
    credentials_path: $c/local_api_credentials.yaml
  server:
    listen_uri: 127.0.0.1:$PORT
    profiles_path: $c/profiles.yaml
$db
YAML
    cat > "$c/acquis.yaml" <<YAML
filenames:
  - $DTMP/log/access.log
mode: cat
labels:
  type: nginx
---
filenames:
  - $DTMP/log/auth.log
mode: cat
labels:
  type: syslog
YAML
    nginx_log > "$DTMP/log/access.log"
    auth_log > "$DTMP/log/auth.log"

    # The operator's steps before starting the engine; outputs kept for the tests.
    "$PHALANX" -c "$CONFIG" hub update > "$DTMP/hub-update.out" 2>&1
    "$PHALANX" -c "$CONFIG" collections install crowdsecurity/nginx crowdsecurity/sshd \
        > "$DTMP/install.out" 2>&1
    # syslog-logs (with non-syslog in it) and dateparse-enrich come with crowdsecurity/linux,
    # whose geoip-enrich needs GeoLite2 databases a local hub does not have.
    "$PHALANX" -c "$CONFIG" parsers install crowdsecurity/syslog-logs crowdsecurity/dateparse-enrich \
        > "$DTMP/install-parsers.out" 2>&1
    "$PHALANX" -c "$CONFIG" machines add --auto -u "$URL/" > "$DTMP/machine.out" 2>&1
    "$PHALANX" -c "$CONFIG" bouncers add nginx-bouncer -o raw > "$DTMP/bouncer.key"

    # phalanxd's exit code lands in phalanxd.rc (the tests are not its parent, they cannot wait).
    (
        "$PHALANXD" -c "$CONFIG" > "$DTMP/phalanxd.log" 2>&1 &
        echo $! > "$DTMP/phalanxd.pid"
        wait $!
        echo $? > "$DTMP/phalanxd.rc"
    ) 3>&- &
    wait_until 5 test -s "$DTMP/phalanxd.pid"
    wait_until 30 daemon_log_has "agent stopped:" || { cat "$DTMP/phalanxd.log" >&2; return 1; }
    wait_until 30 both_banned || { cat "$DTMP/phalanxd.log" >&2; return 1; }
}

setup() {
    [ -z "${SEED_SKIP:-}" ] || skip "$SEED_SKIP"
}

teardown_file() {
    if [ -f "${DTMP:-/nonexistent}/phalanxd.pid" ]; then
        kill -9 "$(cat "$DTMP/phalanxd.pid")" 2>/dev/null || true
    fi
    [ -z "${DTMP:-}" ] || [ -n "${KEEP_SEED_TMP:-}" ] || rm -rf "$DTMP"
}

# json_status TYPE NAME: the status of a hub item in `phalanx TYPE list -o json`.
json_status() {
    "$PHALANX" -c "$CONFIG" "$1" list -o json | jq -r --arg n "$2" ".$1[] | select(.name == \$n) | .status"
}

@test "seed: hub update and collections install bring nginx and sshd with their dependencies" {
    [ -s "$DTMP/hub-update.out" ]
    grep -q "^Enabled crowdsecurity/nginx$" "$DTMP/install.out"
    grep -q "^Enabled crowdsecurity/sshd$" "$DTMP/install.out"
    grep -q "^Enabled crowdsecurity/base-http-scenarios$" "$DTMP/install.out"
    [ -L "$DTMP/etc/scenarios/http-probing.yaml" ]
    [ -L "$DTMP/etc/scenarios/ssh-bf.yaml" ]
    [ -L "$DTMP/etc/parsers/s01-parse/nginx-logs.yaml" ]
    [ -L "$DTMP/etc/parsers/s00-raw/syslog-logs.yaml" ]
    [ -s "$DTMP/data/bad_user_agents.regex.txt" ]
    [ -s "$DTMP/data/sensitive_data.txt" ]
    run -0 "$PHALANX" -c "$CONFIG" collections list -o json
    [ "$(jq -r '[.collections[] | .name + "=" + .status] | join(" ")' <<<"$output")" = \
        "crowdsecurity/base-http-scenarios=enabled crowdsecurity/http-cve=enabled crowdsecurity/nginx=enabled crowdsecurity/sshd=enabled" ]
    grep -q "successfully added to the local API" "$DTMP/machine.out"
    [ -s "$DTMP/etc/local_api_credentials.yaml" ]
}

@test "seed: phalanxd reads both logs once (mode cat) and ships its alerts to the Local API" {
    grep -q "Local API listening on 127.0.0.1:$PORT" "$DTMP/phalanxd.log"
    grep -q "datasource file:$DTMP/log/access.log" "$DTMP/phalanxd.log"
    grep -q "alerts go to the Local API at $URL/" "$DTMP/phalanxd.log"
    grep -q "agent stopped: 26 lines (26 parsed, 0 unparsed)" "$DTMP/phalanxd.log"
    # The agent is done, the Local API keeps serving.
    kill -0 "$(cat "$DTMP/phalanxd.pid")"
    run -0 "$PHALANX" -c "$CONFIG" alerts list -o json
    local by_ip='[.[] | select(.source.value == $ip) | .scenario] | sort | join(" ")'
    run -0 jq -r --arg ip "$SCANNER" "$by_ip" <<<"$output"
    for s in http-bad-user-agent http-probing http-sensitive-files; do
        [[ " $output " == *" crowdsecurity/$s "* ]]
    done
    run -0 "$PHALANX" -c "$CONFIG" alerts list -o json
    run -0 jq -r --arg ip "$BRUTE" "$by_ip" <<<"$output"
    [[ " $output " == *" crowdsecurity/ssh-bf "* ]]
    run -0 "$PHALANX" -c "$CONFIG" alerts list -o json
    run -0 jq -r --arg ip "$VISITOR" "$by_ip" <<<"$output"
    [ "$output" = "" ]
}

@test "seed: decisions list shows the bans of both attackers and not the visitor" {
    run -0 "$PHALANX" -c "$CONFIG" decisions list
    [[ "${lines[1]}" == *" ID "*" Source "*" Scope:Value "*" Reason "*" Action "*" Alert ID "* ]]
    [[ "$output" == *"| Ip:$SCANNER "*"| ban "* ]]
    [[ "$output" == *"| Ip:$BRUTE "*"| ban "* ]]
    [[ "$output" != *"$VISITOR"* ]]
    run -0 "$PHALANX" -c "$CONFIG" decisions list -o json
    [ "$(jq -r '[.[].decisions[] | select(.value == "'"$SCANNER"'") | .type + "/" + .origin + "/" + .scope] | unique | join(" ")' <<<"$output")" = "ban/crowdsec/Ip" ]
    [ "$(jq -r '[.[] | select(.source.value == "'"$BRUTE"'") | .decisions | length] | add' <<<"$output")" -ge 1 ]
}

@test "seed: alerts inspect shows why: the scenario and the sensitive files the scanner asked for" {
    run -0 "$PHALANX" -c "$CONFIG" alerts list -o json
    local id
    id="$(jq -r '.[] | select(.scenario == "crowdsecurity/http-sensitive-files" and .source.value == "'"$SCANNER"'") | .id' <<<"$output")"
    [[ "$id" =~ ^[0-9]+$ ]]
    run -0 "$PHALANX" -c "$CONFIG" alerts inspect "$id" -d
    [[ "$output" == *" - ID           : $id"* ]]
    [[ "$output" == *" - Reason       : crowdsecurity/http-sensitive-files"* ]]
    [[ "$output" == *" - Events Count : 5"* ]]
    [[ "$output" == *" - Scope:Value  : Ip:$SCANNER"* ]]
    [[ "$output" == *"Active Decisions"* ]]
    [[ "$output" == *"| http_path "*"| /.git/config "* ]]
    [[ "$output" == *"(Nikto/2.1.6)"* ]]
    run -0 "$PHALANX" -c "$CONFIG" alerts inspect "$id" -o json
    [ "$(jq -r '.scenario' <<<"$output")" = crowdsecurity/http-sensitive-files ]
    [ "$(jq -r '.events_count' <<<"$output")" = 5 ]
    [ "$(jq -r '[.events[].meta[] | select(.key == "http_path") | .value] | sort | join(" ")' <<<"$output")" = \
        "/.env /.git/config /backup.sql /config.php.bak /db.sql.gz" ]
    [ "$(jq -r '.decisions[0].type + " " + .decisions[0].value' <<<"$output")" = "ban $SCANNER" ]
}

@test "seed: a bouncer asking the Local API is told to ban the scanner" {
    local key
    key="$(cat "$DTMP/bouncer.key")"
    [ -n "$key" ]
    run -0 curl -sf -H "X-Api-Key: $key" "$URL/v1/decisions?ip=$SCANNER"
    [ "$(jq -r '[.[].type] | unique | join(" ")' <<<"$output")" = ban ]
    run -0 curl -sf -H "X-Api-Key: $key" "$URL/v1/decisions?ip=$VISITOR"
    [ "$output" = null ]
}

@test "seed: decisions delete -i IP lifts the scanner's ban and only that one" {
    # decisions list dedups (one ban an IP, as cscli); alerts list has every decision.
    run -0 "$PHALANX" -c "$CONFIG" alerts list -i "$SCANNER" -o json
    local n
    n="$(jq '[.[].decisions[] | select(.value == "'"$SCANNER"'")] | length' <<<"$output")"
    [ "$n" -ge 3 ]
    run -0 "$PHALANX" -c "$CONFIG" decisions delete -i "$SCANNER"
    [[ "$output" == *"$n decision(s) deleted"* ]]
    run -0 "$PHALANX" -c "$CONFIG" decisions list -i "$SCANNER"
    [ "$output" = "No active decisions" ]
    run -0 "$PHALANX" -c "$CONFIG" decisions list -i "$SCANNER" -o json
    [ "$output" = "[]" ]
    run -0 curl -sf -H "X-Api-Key: $(cat "$DTMP/bouncer.key")" "$URL/v1/decisions?ip=$SCANNER"
    [ "$output" = null ]
    # The alerts stay (the reason of a lifted ban is still on record); the brute forcer stays banned.
    run -0 "$PHALANX" -c "$CONFIG" alerts list -i "$SCANNER" -o json
    [ "$(jq length <<<"$output")" -ge 3 ]
    run -0 "$PHALANX" -c "$CONFIG" decisions list -o json
    [ "$(jq -r '[.[].decisions[].value] | unique | join(" ")' <<<"$output")" = "$BRUTE" ]
}

@test "seed: after a local edit the hub items report enabled/tainted, and --force restores them" {
    [ "$(json_status parsers crowdsecurity/nginx-logs)" = enabled ]
    echo "# tuned locally" >> "$DTMP/etc/parsers/s01-parse/nginx-logs.yaml"
    run -0 "$PHALANX" -c "$CONFIG" parsers list -o json
    [ "$(jq -r '.parsers[] | select(.name == "crowdsecurity/nginx-logs") | .status + " " + .local_version' <<<"$output")" = \
        "enabled,tainted ?" ]
    [ "$(jq -r '.parsers[] | select(.name == "crowdsecurity/sshd-logs") | .status' <<<"$output")" = enabled ]
    [ "$(json_status collections crowdsecurity/nginx)" = "enabled,tainted" ]
    [ "$(json_status collections crowdsecurity/sshd)" = enabled ]
    [ "$(json_status collections crowdsecurity/base-http-scenarios)" = enabled ]
    # A scenario edited inside a nested collection taints it and the collection above.
    echo "# tuned locally" >> "$DTMP/etc/scenarios/http-probing.yaml"
    [ "$(json_status scenarios crowdsecurity/http-probing)" = "enabled,tainted" ]
    [ "$(json_status collections crowdsecurity/base-http-scenarios)" = "enabled,tainted" ]
    [ "$(json_status collections crowdsecurity/sshd)" = enabled ]
    run -0 "$PHALANX" -c "$CONFIG" parsers upgrade crowdsecurity/nginx-logs --force
    run -0 "$PHALANX" -c "$CONFIG" scenarios upgrade crowdsecurity/http-probing --force
    [ "$(json_status parsers crowdsecurity/nginx-logs)" = enabled ]
    [ "$(json_status collections crowdsecurity/nginx)" = enabled ]
    [ "$(json_status collections crowdsecurity/base-http-scenarios)" = enabled ]
}

@test "seed: phalanxd stops cleanly on SIGTERM" {
    local pid
    pid="$(cat "$DTMP/phalanxd.pid")"
    kill -TERM "$pid"
    wait_until 15 test -s "$DTMP/phalanxd.rc"
    rm -f "$DTMP/phalanxd.pid"
    [ "$(cat "$DTMP/phalanxd.rc")" = 0 ]
    grep -q "signal 15 received, stopping" "$DTMP/phalanxd.log"
}
