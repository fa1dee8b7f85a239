#!/usr/bin/env bats
# Interop with Debian's real crowdsec-firewall-bouncer (0.0.25, nftables mode)
# against OUR Local API. Both run inside a private network namespace the test
# creates (its own loopback and its own nftables ruleset, so the host firewall
# is never touched): `phalanxd -no-cs` on the namespace's loopback, the bouncer
# polling its decision stream every second with a key from
# `phalanx bouncers add`. Decisions are added and deleted through our API as a
# machine would (POST /v1/alerts, DELETE /v1/decisions) and the test waits
# until the bouncer's nft sets show the change.
# Skips with the reason when the bouncer, nft or ip is missing, when not root,
# or when this kernel/container refuses network namespaces or nftables.

bats_require_minimum_version 1.5.0

setup_file() {
    export PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    export PHALANXD="$PHALANX_BUILD/src/bin/phalanxd"
    export FW_SKIP=""
    local tool
    for tool in crowdsec-firewall-bouncer nft ip; do
        if ! command -v "$tool" >/dev/null; then
            export FW_SKIP="$tool is not installed (scripts/setup.sh test installs crowdsec-firewall-bouncer and nftables)"
            return 0
        fi
    done
    if [ "$(id -u)" != 0 ]; then
        export FW_SKIP="needs root for a network namespace and nftables"
        return 0
    fi
    export NS="phx-interop-$$"
    local err
    if ! err="$(ip netns add "$NS" 2>&1)"; then
        export FW_SKIP="cannot create a network namespace here: $err"
        return 0
    fi
    export NSX="ip netns exec $NS"
    $NSX ip link set lo up
    if ! err="$($NSX nft add table ip phx_probe 2>&1 && $NSX nft delete table ip phx_probe 2>&1)"; then
        ip netns del "$NS"
        export FW_SKIP="the kernel refuses nftables in this container: $err"
        return 0
    fi

    export LTMP="$(mktemp -d)"
    # any port: the namespace's loopback is ours alone
    export PORT=18080
    export URL="http://127.0.0.1:$PORT"
    export MPW='Machine!pw-123'
    cat > "$LTMP/profiles.yaml" <<'YAML'
name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 4h
on_success: break
YAML
    cat > "$LTMP/config.yaml" <<YAML
api:
  server:
    enable: true
    listen_uri: 127.0.0.1:$PORT
    profiles_path: $LTMP/profiles.yaml
db_config:
  type: sqlite
  db_path: $LTMP/phalanx.db
YAML
    "$PHALANX" machines add agent1 -p "$MPW" -c "$LTMP/config.yaml" > "$LTMP/machines_add.log" 2>&1
    local key
    key="$("$PHALANX" bouncers add fw-nft -o raw -c "$LTMP/config.yaml")"
    $NSX "$PHALANXD" -no-cs -c "$LTMP/config.yaml" > "$LTMP/phalanxd.log" 2>&1 &
    echo $! > "$LTMP/phalanxd.pid"
    local up=""
    for _ in $(seq 100); do
        if $NSX curl -sf "$URL/health" >/dev/null; then
            up=1
            break
        fi
        sleep 0.1
    done
    if [ -z "$up" ]; then
        cat "$LTMP/phalanxd.log" >&2
        return 1
    fi

    # the packaged config with what a test needs: our URL and key, nftables,
    # foreground, a 1 s poll, debug log (it shows every request), no metrics port
    cat > "$LTMP/bouncer.yaml" <<YAML
mode: nftables
pid_dir: $LTMP/
update_frequency: 1s
daemonize: false
log_mode: stdout
log_level: debug
api_url: $URL/
api_key: $key
insecure_skip_verify: false
disable_ipv6: false
deny_action: DROP
deny_log: false
supported_decisions_types:
  - ban
blacklists_ipv4: crowdsec-blacklists
blacklists_ipv6: crowdsec6-blacklists
nftables:
  ipv4:
    enabled: true
    set-only: false
    table: crowdsec
    chain: crowdsec-chain
  ipv6:
    enabled: true
    set-only: false
    table: crowdsec6
    chain: crowdsec6-chain
prometheus:
  enabled: false
  listen_addr: 127.0.0.1
  listen_port: 60601
YAML
}

teardown_file() {
    [ -n "${LTMP:-}" ] || return 0
    local p
    for p in bouncer phalanxd; do
        if [ -f "$LTMP/$p.pid" ]; then
            kill -TERM "$(cat "$LTMP/$p.pid")" 2>/dev/null || true
            wait "$(cat "$LTMP/$p.pid")" 2>/dev/null || true
        fi
    done
    ip netns del "$NS" 2>/dev/null || true
    [ -n "${KEEP_INTEROP_TMP:-}" ] || rm -rf "$LTMP"
}

setup() {
    [ -z "$FW_SKIP" ] || skip "$FW_SKIP"
}

# starts the bouncer (log appended to $LTMP/bouncer.log) and waits until its
# IPv4 set exists
bouncer_start() {
    $NSX crowdsec-firewall-bouncer -c "$LTMP/bouncer.yaml" >> "$LTMP/bouncer.log" 2>&1 &
    echo $! > "$LTMP/bouncer.pid"
    wait_until 100 $NSX nft list set ip crowdsec crowdsec-blacklists
}

bouncer_stop() {
    kill -TERM "$(cat "$LTMP/bouncer.pid")"
    wait "$(cat "$LTMP/bouncer.pid")" || true
    rm -f "$LTMP/bouncer.pid"
}

# wait_until TENTHS CMD...: runs CMD every 0.1 s until it succeeds
wait_until() {
    local n="$1"
    shift
    for _ in $(seq "$n"); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "timed out: $*" >&2
    return 1
}

# in_set FAMILY TABLE SET ADDR: the address is an element of that nft set
in_set() {
    $NSX nft list set "$1" "$2" "$3" | grep -Eq "(^|[[:space:]{,])${4//./\\.} timeout"
}
in_v4() { in_set ip crowdsec crowdsec-blacklists "$1"; }
not_in_v4() { ! in_v4 "$1"; }
in_v6() { in_set ip6 crowdsec6 crowdsec6-blacklists "$1"; }
not_in_v6() { ! in_v6 "$1"; }

# incremental_pulls N: the bouncer has made at least N stream pulls without startup
incremental_pulls() {
    [ "$(grep -c 'req-api: GET .*/v1/decisions/stream?"' "$LTMP/bouncer.log")" -ge "$1" ]
}

# a machine token (valid 1 h), fetched once: logins are rate-limited per client
token() {
    [ -s "$LTMP/token" ] ||
        $NSX curl -s "$URL/v1/watchers/login" -d "{\"machine_id\":\"agent1\",\"password\":\"$MPW\"}" |
        jq -r .token > "$LTMP/token"
    cat "$LTMP/token"
}

# add_ban VALUE DURATION: an alert carrying one ban decision, as cscli sends it
add_ban() {
    local now
    now="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    $NSX curl -s -o "$LTMP/body" -w '%{http_code}' -H "Authorization: Bearer $(token)" "$URL/v1/alerts" -d "[{
        \"capacity\":0,\"events\":[],\"events_count\":1,\"leakspeed\":\"0\",\"message\":\"interop\",
        \"scenario\":\"interop test\",\"scenario_hash\":\"\",\"scenario_version\":\"\",\"simulated\":false,
        \"start_at\":\"$now\",\"stop_at\":\"$now\",\"source\":{\"scope\":\"Ip\",\"value\":\"$1\",\"ip\":\"$1\"},
        \"decisions\":[{\"duration\":\"$2\",\"origin\":\"cscli\",\"scenario\":\"interop test\",\"scope\":\"Ip\",
        \"type\":\"ban\",\"value\":\"$1\"}]}]" > "$LTMP/code"
    [ "$(cat "$LTMP/code")" = 201 ] || {
        cat "$LTMP/code" "$LTMP/body" >&2
        return 1
    }
}

# del_ip ADDR: DELETE /v1/decisions?ip=ADDR; prints nbDeleted
del_ip() {
    $NSX curl -s -X DELETE -H "Authorization: Bearer $(token)" "$URL/v1/decisions?ip=$1" | jq -r .nbDeleted
}

@test "the firewall bouncer starts on our LAPI: startup stream, then 1 s incremental pulls, its last pull recorded" {
    bouncer_start
    # the startup pull and at least two incremental ones after it
    wait_until 100 incremental_pulls 2
    local reqs
    reqs="$(grep -o 'req-api: GET [^"]*' "$LTMP/bouncer.log")"
    echo "$reqs" | head -5
    [ "$(head -1 <<< "$reqs")" = "req-api: GET $URL/v1/decisions/stream?startup=true" ]
    [ "$(grep -c 'startup=true' <<< "$reqs")" -eq 1 ]
    [ -z "$(grep 'resp-api: http' "$LTMP/bouncer.log" | grep -v 'resp-api: http 200')" ]
    [ -z "$(grep -E 'level=(error|fatal)' "$LTMP/bouncer.log")" ]

    # its own table and input chain in the namespace
    run -0 $NSX nft list chain ip crowdsec crowdsec-chain
    [[ "$output" == *"hook input"*"ip saddr @crowdsec-blacklists"*drop* ]]
    run -0 $NSX nft list chain ip6 crowdsec6 crowdsec6-chain
    [[ "$output" == *"ip6 saddr @crowdsec6-blacklists"*drop* ]]

    # our bouncer table: type from its User-Agent, a fresh last pull
    run -0 "$PHALANX" bouncers list -o json -c "$LTMP/config.yaml"
    local b
    b="$(jq -c '.[] | select(.name == "fw-nft")' <<< "$output")"
    echo "$b"
    [ "$(jq -r .type <<< "$b")" = crowdsec-firewall-bouncer ]
    [ "$(jq -r .ip_address <<< "$b")" = 127.0.0.1 ]
    local pulled
    pulled="$(date -d "$(jq -r .last_pull <<< "$b")" +%s)"
    [ $(($(date +%s) - pulled)) -le 5 ]
}

@test "a ban added through our LAPI lands in the bouncer's nft set with its duration; deleted, it leaves" {
    [ -f "$LTMP/bouncer.pid" ] || bouncer_start
    add_ban 198.51.100.9 1h
    wait_until 100 in_v4 198.51.100.9
    run -0 $NSX nft list set ip crowdsec crowdsec-blacklists
    echo "$output"
    # the timeout the bouncer set is the remaining duration we served
    [[ "$output" =~ 198\.51\.100\.9\ timeout\ (59m[0-9]+s|1h) ]]

    [ "$(del_ip 198.51.100.9)" = 1 ]
    wait_until 100 not_in_v4 198.51.100.9
    grep -q "deleted '198.51.100.9'" "$LTMP/bouncer.log"
}

@test "an IPv6 ban reaches the bouncer's ip6 set and leaves it on delete" {
    [ -f "$LTMP/bouncer.pid" ] || bouncer_start
    add_ban 2001:db8::42 2h
    wait_until 100 in_v6 2001:db8::42
    not_in_v4 2001:db8::42
    [ "$(del_ip 2001:db8::42)" = 1 ]
    wait_until 100 not_in_v6 2001:db8::42
}

@test "a restarted bouncer converges from the startup stream: bans added and deleted while it was down" {
    [ -f "$LTMP/bouncer.pid" ] || bouncer_start
    add_ban 192.0.2.1 1h
    add_ban 192.0.2.2 1h
    wait_until 100 in_v4 192.0.2.1
    wait_until 100 in_v4 192.0.2.2
    bouncer_stop

    [ "$(del_ip 192.0.2.1)" = 1 ]
    add_ban 192.0.2.3 1h

    bouncer_start
    wait_until 100 in_v4 192.0.2.3
    wait_until 100 not_in_v4 192.0.2.1
    in_v4 192.0.2.2
    [ "$(grep -c 'stream?startup=true' "$LTMP/bouncer.log")" -eq 2 ]
    [ "$(del_ip 192.0.2.2)" = 1 ]
    [ "$(del_ip 192.0.2.3)" = 1 ]
    wait_until 100 not_in_v4 192.0.2.2
    wait_until 100 not_in_v4 192.0.2.3
}
