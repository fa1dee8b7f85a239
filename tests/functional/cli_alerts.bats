#!/usr/bin/env bats
# `phalanx alerts list|inspect|delete|flush` against a `phalanxd` Local API
# on loopback with the machine credentials of local_api_credentials.yaml, in
# human, raw and JSON output. flush works on the database directly.
# Run with PHALANX_BUILD set to a meson build directory. PHALANX_LAPI_DB=postgres
# with PHALANX_PG_CONNINFO="host=... port=... user=... dbname=..." runs the
# same file on PostgreSQL.

bats_require_minimum_version 1.5.0

load lib/cli_lapi

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
