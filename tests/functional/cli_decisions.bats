#!/usr/bin/env bats
# `phalanx decisions list|add|delete|import` against a `phalanxd` Local API on
# loopback, with the machine credentials of local_api_credentials.yaml, in
# human, raw and JSON output; and the time `decisions list` takes on a
# database of 100k alerts with 100k active decisions.
# Run with PHALANX_BUILD set to a meson build directory. PHALANX_LAPI_DB=postgres
# with PHALANX_PG_CONNINFO="host=... port=... user=... dbname=..." runs the
# same file on PostgreSQL.

bats_require_minimum_version 1.5.0

load lib/cli_lapi

@test "decisions list on an empty database: 'No active decisions', [] in JSON, a bare header in raw" {
    run -0 "$PHALANX" decisions list -c "$CFG"
    [ "$output" = "No active decisions" ]
    run -0 "$PHALANX" decisions list -c "$CFG" -o json
    [ "$output" = "[]" ]
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw
    [ "$output" = "id,source,ip,reason,action,country,as,events_count,expiration,simulated,alert_id" ]
}

@test "decisions add -i posts a cscli alert; list shows it in a table" {
    run -0 --separate-stderr "$PHALANX" decisions add -i 192.0.2.10 -c "$CFG"
    [ "$stderr" = "Decision successfully added" ]
    run -0 "$PHALANX" decisions list -c "$CFG"
    [[ "${lines[0]}" == "+----"* ]]
    [[ "${lines[1]}" == *"|   ID   |  Source  |"* ]] || [[ "${lines[1]}" == *" ID "*" Source "*" Scope:Value "*" Reason "*" Action "*" Country "*" AS "*" Events "*" expiration "*" Alert ID "* ]]
    [[ "${lines[3]}" == *" cscli "*" Ip:192.0.2.10 "*" manual 'ban' from 'agent1' "*" ban "*" 1 "*"h"*"m"*"s "* ]]
    [ "${#lines[@]}" -eq 5 ]
}

@test "decisions list -o json is the alerts array with cscli's fields" {
    run -0 "$PHALANX" decisions list -c "$CFG" -o json -i 192.0.2.10
    [ "$(jq length <<< "$output")" = 1 ]
    [ "$(jq -r '.[0].kind' <<< "$output")" = cscli ]
    [ "$(jq -r '.[0].scenario' <<< "$output")" = "manual 'ban' from 'agent1'" ]
    [ "$(jq -r '.[0].message' <<< "$output")" = "manual 'ban' from 'agent1'" ]
    [ "$(jq -r '.[0].remediation' <<< "$output")" = true ]
    [ "$(jq -r '.[0].leakspeed' <<< "$output")" = 0 ]
    [ "$(jq -r '.[0].events_count' <<< "$output")" = 1 ]
    [ "$(jq -r '.[0].machine_id' <<< "$output")" = agent1 ]
    [ "$(jq -r '.[0].source | "\(.scope) \(.value) \(.ip)"' <<< "$output")" = "Ip 192.0.2.10 192.0.2.10" ]
    [ "$(jq -r '.[0].decisions[0] | "\(.origin) \(.type) \(.scope) \(.value) \(.simulated)"' <<< "$output")" = "cscli ban Ip 192.0.2.10 false" ]
    # the remaining time, rounded to the second: the full 4h within the second it was made
    d="$(jq -r '.[0].decisions[0].duration' <<< "$output")"
    [[ "$d" == 3h59m* || "$d" == 4h0m0s ]]
    # Go's MarshalIndent with a one-space indent
    [ "${lines[0]}" = "[" ]
    [ "${lines[1]}" = " {" ]
    [[ "${lines[2]}" == '  "capacity": 0,' ]]
}

@test "decisions add with --scope/-v, -d, -t, -R; filters -t, --scope, -v, -s, --origin" {
    run -0 "$PHALANX" decisions add --scope username -v mallory -d 30m -t captcha -R my-reason -c "$CFG"
    run -0 "$PHALANX" decisions add -r 198.51.100.0/24 -d 1h -c "$CFG"
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw -t captcha
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[1]}" == *",cscli,username:mallory,my-reason,captcha,,,1,29m"*"s,false,"* ||
        "${lines[1]}" == *",cscli,username:mallory,my-reason,captcha,,,1,30m0s,false,"* ]]
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw --scope range
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[1]}" == *",Range:198.51.100.0/24,"* ]]
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw -v mallory --scope username
    [ "${#lines[@]}" -eq 2 ]
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw -s my-reason
    [ "${#lines[@]}" -eq 2 ]
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw --origin crowdsec
    [ "${#lines[@]}" -eq 1 ]
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw -i 198.51.100.7 --contained
    [ "${#lines[@]}" -eq 1 ]
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw -r 198.51.100.0/24
    [ "${#lines[@]}" -eq 2 ]
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw -m
    [[ "${lines[0]}" == *",alert_id,machine" ]]
    [[ "${lines[1]}" == *",agent1" ]]
}

@test "decisions list hides CAPI and lists origins unless -a" {
    run -0 "$PHALANX" decisions import -i - --format values --scope ip -R community -c "$CFG" <<< "203.0.113.99"
    # make it look like a community blocklist pulled from CAPI
    sqlq "UPDATE decisions SET origin = 'CAPI' WHERE value = '203.0.113.99'"
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw -i 203.0.113.99
    [ "${#lines[@]}" -eq 1 ]
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw -a -i 203.0.113.99
    [ "${#lines[@]}" -eq 2 ]
    [[ "${lines[1]}" == *",CAPI,ip:203.0.113.99,community,ban,"* ]]
}

@test "bad input: errors on stderr with what to do, exit 1" {
    run -1 --separate-stderr "$PHALANX" decisions add -i 300.1.2.3 -c "$CFG"
    [ "$stderr" = "Error: 300.1.2.3 is not a valid ip" ]
    run -1 --separate-stderr "$PHALANX" decisions add -c "$CFG"
    [[ "$stderr" == "Error: missing arguments, a value is required"* ]]
    run -1 --separate-stderr "$PHALANX" decisions list -r 1.2.3.4 -c "$CFG"
    [[ "$stderr" == "Error: 1.2.3.4 is not a valid range"* ]]
    run -1 --separate-stderr "$PHALANX" decisions delete -c "$CFG"
    [[ "$stderr" == "Error: at least one filter or --all must be specified"* ]]
    run -1 --separate-stderr "$PHALANX" decisions list --bogus -c "$CFG"
    [[ "$stderr" == "Error: unknown flag: --bogus"* ]]
    run -1 --separate-stderr "$PHALANX" decisions list -o yaml -c "$CFG"
    [[ "$stderr" == *"invalid output format 'yaml'"* ]]
    run -1 --separate-stderr "$PHALANX" decisions list -c "$LTMP/nope.yaml"
    [[ "$stderr" == "Error: unable to read the configuration '$LTMP/nope.yaml'"* ]]
    run -1 --separate-stderr "$PHALANX" decisions add -i 192.0.2.1 -d forever -c "$CFG"
    [[ "$stderr" == "Error: unable to add the decision: the local API answered "* ]]
}

@test "a stopped Local API: an error naming the problem" {
    sed "s#$URL#http://127.0.0.1:1#" "$LTMP/local_api_credentials.yaml" > "$LTMP/bad_creds.yaml"
    sed "s#credentials_path: .*#credentials_path: $LTMP/bad_creds.yaml#" "$CFG" > "$LTMP/bad.yaml"
    run -1 --separate-stderr "$PHALANX" decisions list -c "$LTMP/bad.yaml"
    [[ "$stderr" == "Error: unable to retrieve decisions: "*"phalanx lapi status"* ]]
}

@test "decisions delete -i, --id, --type, and --all" {
    run -0 "$PHALANX" decisions add -i 192.0.2.20 -c "$CFG"
    run -0 "$PHALANX" decisions add -i 192.0.2.21 -t captcha -c "$CFG"
    run -0 --separate-stderr "$PHALANX" decisions delete -i 192.0.2.20 -c "$CFG"
    [ "$stderr" = "1 decision(s) deleted" ]
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw -i 192.0.2.20
    [ "${#lines[@]}" -eq 1 ]
    id="$("$PHALANX" decisions list -c "$CFG" -o json -i 192.0.2.21 | jq '.[0].decisions[0].id')"
    run -0 --separate-stderr "$PHALANX" decisions delete --id "$id" -c "$CFG"
    [ "$stderr" = "1 decision(s) deleted" ]
    run -1 --separate-stderr "$PHALANX" decisions delete --id abc -c "$CFG"
    [ "$stderr" = "Error: id 'abc' is not an integer" ]
    run -0 "$PHALANX" decisions add --scope username -v eve -c "$CFG"
    run -0 --separate-stderr "$PHALANX" decisions delete --scope username -v eve -c "$CFG"
    [ "$stderr" = "1 decision(s) deleted" ]
    run -0 --separate-stderr "$PHALANX" decisions delete --all -c "$CFG"
    [[ "$stderr" =~ ^[0-9]+" decision(s) deleted"$ ]]
    run -0 "$PHALANX" decisions list -c "$CFG"
    [ "$output" = "No active decisions" ]
}

@test "decisions import: values, csv and json with defaults and overrides" {
    printf '192.0.2.30\n192.0.2.31\n' > "$LTMP/list.txt"
    run -0 "$PHALANX" decisions import -i "$LTMP/list.txt" --format values -d 2h -c "$CFG"
    [ "${lines[0]}" = "Parsing values" ]
    [ "${lines[1]}" = "Imported 2 decisions" ]
    run -0 "$PHALANX" decisions list -c "$CFG" -o json -i 192.0.2.31
    [ "$(jq -r '.[0].scenario' <<< "$output")" = "import $LTMP/list.txt: 2 IPs" ]
    [ "$(jq -r '.[0].kind' <<< "$output")" = cscli ]
    [ "$(jq -r '.[0].decisions[] | select(.value == "192.0.2.31") | "\(.origin) \(.scenario) \(.type) \(.scope)"' <<< "$output")" = "cscli-import manual ban Ip" ]
    d="$(jq -r '.[0].decisions[0].duration' <<< "$output")"
    [[ "$d" == 1h59m* || "$d" == 2h0m0s ]]
    printf 'value,type,reason\n192.0.2.40,captcha,"csv, reason"\n192.0.2.41,,\n' > "$LTMP/d.csv"
    run -0 "$PHALANX" decisions import -i "$LTMP/d.csv" -c "$CFG"
    [ "${lines[0]}" = "Parsing csv" ]
    # -i selects the alert; cscli shows every decision of it
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw -i 192.0.2.40
    [ "${#lines[@]}" -eq 3 ]
    [[ "$output" == *',cscli-import,Ip:192.0.2.40,"csv, reason",captcha,,,2,'* ]]
    [[ "$output" == *',cscli-import,Ip:192.0.2.41,manual,ban,,,2,'* ]]
    echo '[{"value":"192.0.2.50","duration":"10m","type":"throttle"},{"Value":"2001:db8::1","scope":"ip"}]' > "$LTMP/d.json"
    run -0 "$PHALANX" decisions import -i "$LTMP/d.json" -t ban -c "$CFG"
    [ "${lines[0]}" = "Parsing json" ]
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw -t throttle
    [[ "$output" == *',Ip:192.0.2.50,manual,throttle,'*',9m5'* ||
        "$output" == *',Ip:192.0.2.50,manual,throttle,'*',10m0s'* ]]
    [[ "$output" == *',ip:2001:db8::1,manual,ban,'*',3h59m5'* ||
        "$output" == *',ip:2001:db8::1,manual,ban,'*',4h0m0s'* ]]
}

@test "decisions import errors: no -i, unknown extension, bad format, empty value" {
    run -1 --separate-stderr "$PHALANX" decisions import -c "$CFG"
    [[ "$stderr" == "Error: required flag \"input\" not set"* ]]
    echo 1.2.3.4 > "$LTMP/list.lst"
    run -1 --separate-stderr "$PHALANX" decisions import -i "$LTMP/list.lst" -c "$CFG"
    [[ "$stderr" == "Error: unable to guess format from file extension"* ]]
    run -1 --separate-stderr "$PHALANX" decisions import -i "$LTMP/list.lst" --format xml -c "$CFG"
    [ "$stderr" = "Error: invalid format 'xml', expected one of 'json', 'csv', 'values'" ]
    printf '1.2.3.4\n\n1.2.3.5\n' > "$LTMP/holes.txt"
    run -1 --separate-stderr "$PHALANX" decisions import -i "$LTMP/holes.txt" --format values -c "$CFG"
    [ "$stderr" = "Error: item 1: missing 'value'" ]
    run -1 --separate-stderr "$PHALANX" decisions import -i "$LTMP/missing.json" -c "$CFG"
    [[ "$stderr" == "Error: unable to read from $LTMP/missing.json: No such file"* ]]
    # an unterminated quote: the error alone (the sanitizer build once reported a leak here)
    printf 'value,type\n"192.0.2.1,ban\n' > "$LTMP/open.csv"
    run -1 --separate-stderr "$PHALANX" decisions import -i "$LTMP/open.csv" -c "$CFG"
    [ "$stderr" = "Error: unable to parse csv: line 2: bad quoting" ]
}

@test "decisions list on 100k alerts with 100k active decisions: first page fast; import of 100k values" {
    "$PHALANX" decisions delete --all -c "$CFG" 2>/dev/null
    bulk_alerts 100000
    t0=$(date +%s%N)
    run -0 "$PHALANX" decisions list -c "$CFG" -o raw
    t1=$(date +%s%N)
    ms=$(( (t1 - t0) / 1000000 ))
    echo "# decisions list, first page of 100k alerts: ${ms} ms" >&3
    [ "${#lines[@]}" -eq 101 ]
    [ "$ms" -lt 3000 ]
    t0=$(date +%s%N)
    run -0 "$PHALANX" decisions list -c "$CFG" -o json -l 10
    t1=$(date +%s%N)
    echo "# decisions list -o json -l 10: $(( (t1 - t0) / 1000000 )) ms" >&3
    [ "$(jq length <<< "$output")" = 10 ]
    seq 1 100000 | awk '{ printf "10.%d.%d.%d\n", int($1/65536), int($1/256)%256, $1%256 }' > "$LTMP/100k.txt"
    t0=$(date +%s%N)
    run -0 "$PHALANX" decisions import -i "$LTMP/100k.txt" --format values -c "$CFG"
    t1=$(date +%s%N)
    echo "# decisions import of 100k values: $(( (t1 - t0) / 1000000 )) ms" >&3
    [ "${lines[1]}" = "You are about to add 100000 decisions, this may take a while" ]
    [ "${lines[2]}" = "Imported 100000 decisions" ]
    [ "$(sqlq "SELECT COUNT(*) FROM decisions WHERE origin = 'cscli-import' AND value LIKE '10.%'")" = 100000 ]
}
