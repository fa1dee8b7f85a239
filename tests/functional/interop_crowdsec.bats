#!/usr/bin/env bats
# Interop with the real CrowdSec 1.4.6 peers Debian ships, against OUR Local
# API (`phalanxd -no-cs` on loopback, a throw-away SQLite db and profiles that
# differ from CrowdSec's defaults so that the decisions prove whose profiles
# made them):
# - the crowdsec agent (`crowdsec -no-api`, its api.client credentials pointing
#   at us, a machine made with `phalanx machines add`) replays an sshd log
#   through ssh-bf and pushes the alerts; our LAPI turns them into decisions;
# - Debian's cscli with the same machine credentials: decisions add / list /
#   delete (single IP and range), alerts list / inspect / delete, lapi status,
#   and a wrong password refused in a way cscli understands.
# The crowdsec config comes from bench/lib_crowdsec.sh (hub items Debian ships
# under /usr/share/crowdsec/hub, installed as symlinks the way its postinst does).
# Every test skips with the reason when crowdsec, cscli or that hub is absent.

bats_require_minimum_version 1.5.0

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# seconds in a Go duration string as CrowdSec prints them ("2h29m25s",
# "59m59s", "-11s", "1.5s"): fractions are dropped.
go_dur_s() {
    local d="$1" sign=1 total=0 n u
    if [ "${d#-}" != "$d" ]; then
        sign=-1
        d="${d#-}"
    fi
    while [[ "$d" =~ ^([0-9]+)(\.[0-9]+)?(h|m|s|ms|us|ns)(.*)$ ]]; do
        n="${BASH_REMATCH[1]}"
        u="${BASH_REMATCH[3]}"
        d="${BASH_REMATCH[4]}"
        case "$u" in
        h) total=$((total + n * 3600)) ;;
        m) total=$((total + n * 60)) ;;
        s) total=$((total + n)) ;;
        esac
    done
    [ -z "$d" ] || return 1
    echo $((sign * total))
}

setup_file() {
    export PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    export PHALANXD="$PHALANX_BUILD/src/bin/phalanxd"
    export SRC="${PHALANX_SOURCE_ROOT:-$BATS_TEST_DIRNAME/../..}"
    export CS_SKIP=""
    # shellcheck source=../../bench/lib_crowdsec.sh
    . "$SRC/bench/lib_crowdsec.sh"
    if ! command -v crowdsec >/dev/null || ! command -v cscli >/dev/null; then
        export CS_SKIP="Debian's crowdsec/cscli 1.4.6 is not installed (scripts/setup.sh test installs it)"
        return 0
    fi
    if ! cs_ready; then
        export CS_SKIP="crowdsec is installed but not usable, or its hub $CS_HUB is missing"
        return 0
    fi
    export LTMP="$(mktemp -d)"
    export PORT="$(free_port)"
    export URL="http://127.0.0.1:$PORT"
    export MPW='Agent!pw-123'
    # Our profiles, deliberately not CrowdSec's default 4h ban: the user
    # enumeration half of ssh-bf gets a captcha, everything else a 2h30m ban.
    mkdir -p "$LTMP/px"
    cat > "$LTMP/px/profiles.yaml" <<'YAML'
name: enum_captcha
filters:
 - Alert.Remediation == true && Alert.GetScenario() == "crowdsecurity/ssh-bf_user-enum"
decisions:
 - type: captcha
   duration: 1h
on_success: break
---
name: default_ip_remediation
filters:
 - Alert.Remediation == true && Alert.GetScope() == "Ip"
decisions:
 - type: ban
   duration: 2h30m
on_success: break
YAML
    cat > "$LTMP/px/config.yaml" <<YAML
api:
  server:
    enable: true
    listen_uri: 127.0.0.1:$PORT
    profiles_path: $LTMP/px/profiles.yaml
db_config:
  type: sqlite
  db_path: $LTMP/px/phalanx.db
YAML
    "$PHALANX" machines add csagent -p "$MPW" -c "$LTMP/px/config.yaml" > "$LTMP/machines_add.log" 2>&1
    KEY="$("$PHALANX" bouncers add checker -o raw -c "$LTMP/px/config.yaml")"
    export KEY
    "$PHALANXD" -no-cs -c "$LTMP/px/config.yaml" > "$LTMP/px/phalanxd.log" 2>&1 &
    echo $! > "$LTMP/px/pid"
    local up=""
    for _ in $(seq 100); do
        if curl -sf "$URL/health" >/dev/null; then
            up=1
            break
        fi
        sleep 0.1
    done
    if [ -z "$up" ]; then
        cat "$LTMP/px/phalanxd.log" >&2
        return 1
    fi

    # A crowdsec config dir with the sshd parsers and scenarios, its agent and
    # cscli pointed at OUR LAPI with the machine made above (cs_setup also
    # registers a machine in its own throw-away db: unused, overwritten here).
    cs_setup "$LTMP/cs" $(cs_resolve collections/crowdsecurity/sshd parsers/crowdsecurity/syslog-logs \
        parsers/crowdsecurity/dateparse-enrich) || {
        cat "$LTMP/cs/cscli.log" >&2
        return 1
    }
    cat > "$LTMP/cs/etc/local_api_credentials.yaml" <<YAML
url: $URL/
login: csagent
password: $MPW
YAML
    export CSCFG="$LTMP/cs/config.yaml"
}

teardown_file() {
    [ -n "${LTMP:-}" ] || return 0
    if [ -f "$LTMP/px/pid" ]; then
        kill -TERM "$(cat "$LTMP/px/pid")" 2>/dev/null || true
        wait "$(cat "$LTMP/px/pid")" 2>/dev/null || true
    fi
    [ -n "${KEEP_INTEROP_TMP:-}" ] || rm -rf "$LTMP"
}

setup() {
    [ -z "$CS_SKIP" ] || skip "$CS_SKIP"
}


# Debian's cscli on the config pointed at our LAPI, paced
csc() {
    cscli -c "$CSCFG" "$@"
}

# a bouncer's view of one address: the JSON of GET /v1/decisions?ip=
bouncer_get() {
    curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions?ip=$1"
}

# a machine token for csagent, from our LAPI
token() {
    curl -s "$URL/v1/watchers/login" -d "{\"machine_id\":\"csagent\",\"password\":\"$MPW\"}" | jq -r .token
}

# waits up to $2 tenths of a second until the bouncer sees a decision for $1
wait_decided() {
    for _ in $(seq "$2"); do
        [ "$(bouncer_get "$1")" != null ] && return 0
        sleep 0.1
    done
    return 1
}

@test "crowdsec 1.4.6 agent (-no-api) replays an sshd log into our LAPI: alerts stored, our profiles decide" {
    # Ten failed logins of one attacker, one a second, ending 30 s ago
    # (year-less syslog stamps: crowdsec assumes the current year, so the
    # lines must not cross New Year; then they are stamped now).
    local now base
    now=$(date +%s)
    base=$((now - 40))
    [ "$(date -d "@$base" +%Y)" = "$(date -d "@$now" +%Y)" ] || base=$now
    : > "$LTMP/auth.log"
    for i in $(seq 0 9); do
        printf '%s web1 sshd[%d]: Failed password for invalid user admin%d from 192.0.2.77 port %d ssh2\n' \
            "$(LC_ALL=C date -d "@$((base + i))" '+%b %e %H:%M:%S')" $((2000 + i)) "$i" $((40000 + i)) >> "$LTMP/auth.log"
    done
    # a legitimate line from another address must not produce anything
    printf '%s web1 sshd[3000]: Accepted publickey for alice from 198.51.100.20 port 50000 ssh2\n' \
        "$(LC_ALL=C date -d "@$base" '+%b %e %H:%M:%S')" >> "$LTMP/auth.log"

    run timeout 90 crowdsec -c "$LTMP/cs/config.yaml" -no-api -dsn "file://$LTMP/auth.log" -type syslog
    echo "$output" | tail -20
    [ "$status" -eq 0 ]
    [[ "$output" != *"level=fatal"* ]]

    wait_decided 192.0.2.77 100

    # our machine table recorded the agent's version from its User-Agent at
    # login (before token() below logs in as curl)
    run -0 "$PHALANX" machines list -o json -c "$LTMP/px/config.yaml"
    local ver
    ver="$(jq -r '.[] | select(.machineId == "csagent") | .version' <<< "$output")"
    echo "agent version recorded: $ver"
    [[ "$ver" == v1.4.6-* ]]
    local got
    got="$(bouncer_get 192.0.2.77)"
    echo "$got"
    # one decision per alert, each from our profiles (CrowdSec's own default
    # would be a 4h ban for both)
    [ "$(jq length <<< "$got")" -eq 2 ]
    [ "$(jq -r '.[] | select(.scenario == "crowdsecurity/ssh-bf") | .type' <<< "$got")" = ban ]
    [ "$(jq -r '.[] | select(.scenario == "crowdsecurity/ssh-bf_user-enum") | .type' <<< "$got")" = captcha ]
    [ "$(jq -r '[.[].origin] | unique | join(",")' <<< "$got")" = crowdsec ]
    [ "$(jq -r '[.[].scope] | unique | join(",")' <<< "$got")" = Ip ]
    # until = stop_at + 2h30m, stop_at being the 6th line's time (base + 5)
    local left want
    left=$(go_dur_s "$(jq -r '.[] | select(.type == "ban") | .duration' <<< "$got")")
    want=$((base + 5 + 9000 - $(date +%s)))
    echo "ban left ${left}s, expected about ${want}s"
    [ "$left" -ge $((want - 5)) ]
    [ "$left" -le $((want + 5)) ]
    left=$(go_dur_s "$(jq -r '.[] | select(.type == "captcha") | .duration' <<< "$got")")
    [ "$left" -ge $((want - 5400 - 5)) ]
    [ "$left" -le $((want - 5400 + 5)) ]

    [ "$(bouncer_get 198.51.100.20)" = null ]

    # the alerts as the agent sent them, read back through our API
    local tok alerts
    tok="$(token)"
    alerts="$(curl -s -H "Authorization: Bearer $tok" "$URL/v1/alerts?ip=192.0.2.77&scenario=crowdsecurity/ssh-bf")"
    echo "$alerts" | jq -c '.[] | {id, scenario, events_count, machine_id, source, start_at, stop_at}'
    [ "$(jq length <<< "$alerts")" -eq 1 ]
    [ "$(jq -r '.[0].machine_id' <<< "$alerts")" = csagent ]
    [ "$(jq -r '.[0].events_count' <<< "$alerts")" = 6 ]
    [ "$(jq -r '.[0].capacity' <<< "$alerts")" = 5 ]
    [ "$(jq -r '.[0].leakspeed' <<< "$alerts")" = 10s ]
    [ "$(jq -r '.[0].source.ip' <<< "$alerts")" = 192.0.2.77 ]
    [ "$(jq -r '.[0].source.scope' <<< "$alerts")" = Ip ]
    [ "$(jq -r '.[0].remediation' <<< "$alerts")" = true ]
    [ "$(jq -r '.[0].simulated' <<< "$alerts")" = false ]
    [ -n "$(jq -r '.[0].scenario_hash' <<< "$alerts")" ]
    [ "$(jq -r '.[0].start_at' <<< "$alerts")" = "$(date -u -d "@$base" +%Y-%m-%dT%H:%M:%SZ)" ]
    [ "$(jq -r '.[0].stop_at' <<< "$alerts")" = "$(date -u -d "@$((base + 5))" +%Y-%m-%dT%H:%M:%SZ)" ]
    [ "$(jq '.[0].events | length' <<< "$alerts")" -eq 6 ]
    [ "$(jq -r '[.[0].events[0].meta[] | select(.key == "target_user") | .value][0]' <<< "$alerts")" = admin0 ]
    [ "$(jq -r '.[0].decisions[0].type' <<< "$alerts")" = ban ]

}

@test "cscli 1.4.6 lapi status: our LAPI accepts its login; a wrong password is refused the way cscli expects" {
    run -0 csc lapi status
    [[ "$output" == *"You can successfully interact with Local API (LAPI)"* ]]

    sed "s/^password: .*/password: not-the-password/" "$LTMP/cs/etc/local_api_credentials.yaml" > "$LTMP/cs/bad_creds.yaml"
    sed "s#credentials_path: .*#credentials_path: $LTMP/cs/bad_creds.yaml#" "$LTMP/cs/config.yaml" > "$LTMP/cs/bad_config.yaml"
    run cscli -c "$LTMP/cs/bad_config.yaml" lapi status
    [ "$status" -ne 0 ]
    [[ "$output" == *"Failed to authenticate to Local API (LAPI) : API error: incorrect Username or Password"* ]]
}

@test "cscli 1.4.6 decisions add / list / delete an IP through our LAPI" {
    run -0 csc decisions add -i 1.2.3.4 -d 1h
    [[ "$output" == *"Decision successfully added"* ]]

    # what a bouncer sees
    local got
    got="$(bouncer_get 1.2.3.4)"
    echo "$got"
    [ "$(jq length <<< "$got")" -eq 1 ]
    [ "$(jq -r '.[0].type' <<< "$got")" = ban ]
    [ "$(jq -r '.[0].origin' <<< "$got")" = cscli ]
    [ "$(jq -r '.[0].scenario' <<< "$got")" = "manual 'ban' from 'csagent'" ]

    # what cscli lists (GET /v1/alerts?has_active_decision=true...)
    run -0 csc decisions list -o json
    local dec
    dec="$(jq -c '[.[] | .decisions[]? | select(.value == "1.2.3.4")]' <<< "$output")"
    echo "$dec"
    [ "$(jq length <<< "$dec")" -eq 1 ]
    [ "$(jq -r '.[0].scope' <<< "$dec")" = Ip ]
    [ "$(jq -r '.[0].simulated' <<< "$dec")" = false ]
    local left
    left=$(go_dur_s "$(jq -r '.[0].duration' <<< "$dec")")
    [ "$left" -gt 3500 ]
    [ "$left" -le 3600 ]
    run -0 csc decisions list -o json -i 1.2.3.4
    [ "$(jq -r '.[0].machine_id' <<< "$output")" = csagent ]
    [ "$(jq -r '.[0].source.value' <<< "$output")" = 1.2.3.4 ]
    run -0 csc decisions list -i 1.2.3.4
    [[ "$output" == *"Ip:1.2.3.4"*"manual 'ban' from 'csagent'"*ban* ]]

    run -0 csc decisions delete -i 1.2.3.4
    [[ "$output" == *"1 decision(s) deleted"* ]]
    [ "$(bouncer_get 1.2.3.4)" = null ]
    run -0 csc decisions list -o json -i 1.2.3.4
    [ "$output" = null ]
    run -0 csc decisions list -i 1.2.3.4
    [[ "$output" == *"No active decisions"* ]]
}

@test "cscli 1.4.6 decisions add / delete a range; an address inside it is banned meanwhile" {
    run -0 csc decisions add -r 10.20.30.0/24 -d 2h --type captcha
    [[ "$output" == *"Decision successfully added"* ]]
    local got
    got="$(bouncer_get 10.20.30.77)"
    echo "$got"
    [ "$(jq -r '.[0].scope' <<< "$got")" = Range ]
    [ "$(jq -r '.[0].value' <<< "$got")" = 10.20.30.0/24 ]
    [ "$(jq -r '.[0].type' <<< "$got")" = captcha ]
    [ "$(bouncer_get 10.20.31.1)" = null ]
    run -0 csc decisions list -o json -r 10.20.30.0/24
    [ "$(jq -r '.[0].decisions[0].value' <<< "$output")" = 10.20.30.0/24 ]
    run -0 csc decisions delete -r 10.20.30.0/24
    [[ "$output" == *"1 decision(s) deleted"* ]]
    [ "$(bouncer_get 10.20.30.77)" = null ]
}

@test "cscli 1.4.6 alerts list / inspect / delete through our LAPI" {
    run -0 csc decisions add -i 203.0.113.5 -d 30m --reason interop-check
    run -0 csc alerts list -o json --ip 203.0.113.5
    echo "$output"
    [ "$(jq length <<< "$output")" -eq 1 ]
    [ "$(jq -r '.[0].scenario' <<< "$output")" = interop-check ]
    [ "$(jq -r '.[0].source.value' <<< "$output")" = 203.0.113.5 ]
    [ "$(jq -r '.[0].decisions[0].duration' <<< "$output")" != null ]
    local id
    id="$(jq -r '.[0].id' <<< "$output")"
    run -0 csc alerts inspect "$id" -o json
    [ "$(jq -r .id <<< "$output")" = "$id" ]
    [ "$(jq -r .scenario <<< "$output")" = interop-check ]
    run -0 csc alerts list
    [[ "$output" == *"Ip:203.0.113.5"*interop-check* ]]

    run -0 csc alerts delete --ip 203.0.113.5
    [[ "$output" == *"1 alert(s) deleted"* ]]
    run -0 csc alerts list -o json --ip 203.0.113.5
    [ "$output" = null ]
    # deleting the alert takes its decision with it
    [ "$(bouncer_get 203.0.113.5)" = null ]
}

@test "cscli 1.4.6 decisions list filters (type, origin, scenario, value, range contained or not, limit) on our LAPI" {
    run -0 csc decisions add -i 100.64.1.1 -d 1h
    run -0 csc decisions add -i 100.64.2.2 -d 1h --type captcha --reason filter-check
    # the values (deduplicated, sorted) cscli lists for some filter flags
    values() {
        run -0 csc decisions list -o json "$@"
        jq -r '[.[]? | .decisions[]? | .value] | unique | join(",")' <<< "$output"
    }
    [ "$(values --type captcha -r 100.64.0.0/16 --contained)" = 100.64.2.2 ]
    [ "$(values --type ban -r 100.64.0.0/16 --contained)" = 100.64.1.1 ]
    [ "$(values -s filter-check)" = 100.64.2.2 ]
    [ "$(values -v 100.64.1.1)" = 100.64.1.1 ]
    [ "$(values -r 100.64.0.0/16 --contained)" = 100.64.1.1,100.64.2.2 ]
    # without --contained, a range asks for decisions that contain it
    [ "$(values -r 100.64.0.0/16)" = "" ]
    [ "$(values -r 100.64.1.1/32)" = 100.64.1.1 ]
    run -0 csc decisions list -o json --origin cscli -r 100.64.0.0/16 --contained
    [ "$(jq -r '[.[].decisions[].origin] | unique | join(",")' <<< "$output")" = cscli ]
    run -0 csc decisions list -o json -l 1 -r 100.64.0.0/16 --contained
    [ "$(jq length <<< "$output")" -eq 1 ]
    [ "$(jq -r '.[0].source.value' <<< "$output")" = 100.64.2.2 ]
    run -0 csc decisions delete -i 100.64.1.1
    run -0 csc decisions delete -i 100.64.2.2
    [ "$(values -r 100.64.0.0/16 --contained)" = "" ]
}

@test "cscli 1.4.6 alerts list filters on our LAPI give what they give on CrowdSec's own LAPI" {
    run -0 csc decisions add -i 100.70.1.1 -d 1h --reason cmp-a
    run -0 csc decisions add -i 100.70.2.2 -d 1h --type captcha --reason cmp-b
    run -0 csc decisions add -r 100.70.0.0/24 -d 1h --reason cmp-c
    # the scenarios (sorted) of the cmp-* alerts cscli lists for some filter flags
    scen() {
        run -0 csc alerts list -o json "$@"
        jq -r '[.[]? | select(.scenario | startswith("cmp-")) | .scenario] | sort | join(",")' <<< "$output"
    }
    # expected values: the same commands against crowdsec 1.4.6's LAPI
    [ "$(scen -a)" = cmp-a,cmp-b,cmp-c ]
    [ "$(scen --since 1h)" = cmp-a,cmp-b,cmp-c ]
    [ "$(scen --until 1h)" = "" ]
    [ "$(scen -s cmp-a)" = cmp-a ]
    [ "$(scen --type captcha)" = cmp-b ]
    [ "$(scen --scope range)" = cmp-c ]
    [ "$(scen --scope ip)" = cmp-a,cmp-b ]
    [ "$(scen -v 100.70.2.2)" = cmp-b ]
    [ "$(scen -r 100.70.0.0/16 --contained)" = cmp-a,cmp-b,cmp-c ]
    [ "$(scen -r 100.70.0.0/16)" = "" ]
    [ "$(scen -i 100.70.0.5)" = cmp-c ]
    [ "$(scen -r 100.70.0.0/24)" = cmp-c ]
    [ "$(scen -l 2)" = cmp-b,cmp-c ]
    [ "$(scen --scope Ip -v 100.70.1.1)" = cmp-a ]
    run -0 csc alerts list -m
    [[ "$output" == *cmp-a*csagent* ]]
    local s
    for s in cmp-a cmp-b cmp-c; do
        run -0 csc alerts delete -s "$s"
        [[ "$output" == *"1 alert(s) deleted"* ]]
    done
    [ "$(scen -a)" = "" ]
}

@test "cscli 1.4.6 decisions import (2000 from CSV, JSON), delete by --id, by contained range, then --all" {
    {
        echo duration,scope,value,reason
        for i in $(seq 0 7); do
            for j in $(seq 0 249); do
                echo "24h,ip,10.99.$i.$j,bulk-list"
            done
        done
    } > "$LTMP/import.csv"
    run -0 csc decisions import -i "$LTMP/import.csv"
    [[ "$output" == *"2000 decisions successfully imported"* ]]
    run -0 curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions?range=10.99.0.0/16&contains=false"
    [ "$(jq length <<< "$output")" -eq 2000 ]
    [ "$(jq -r '[.[].origin] | unique | join(",")' <<< "$output")" = cscli-import ]
    [ "$(jq -r '[.[].scenario] | unique | join(",")' <<< "$output")" = bulk-list ]

    echo '[{"duration":"2h","scope":"ip","type":"captcha","value":"10.98.0.1","reason":"json-list"}]' > "$LTMP/import.json"
    run -0 csc decisions import -i "$LTMP/import.json"
    local got id
    got="$(bouncer_get 10.98.0.1)"
    [ "$(jq -r '.[0].type' <<< "$got")" = captcha ]
    [ "$(jq -r '.[0].scenario' <<< "$got")" = json-list ]
    id="$(jq -r '.[0].id' <<< "$got")"
    run -0 csc decisions delete --id "$id"
    [[ "$output" == *"1 decision(s) deleted"* ]]
    [ "$(bouncer_get 10.98.0.1)" = null ]

    run -0 csc decisions delete -r 10.99.0.0/16 --contained
    [[ "$output" == *"2000 decision(s) deleted"* ]]
    run -0 curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions?range=10.99.0.0/16&contains=false"
    [ "$output" = null ]

    run -0 csc decisions add -i 10.97.0.1
    run -0 csc decisions delete --all
    run -0 curl -s -H "X-Api-Key: $KEY" "$URL/v1/decisions"
    [ "$output" = null ]
}
