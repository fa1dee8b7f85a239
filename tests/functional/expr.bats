#!/usr/bin/env bats
# `phalanx expr`: results as one line of JSON, environments from --env files,
# CrowdSec's contexts, and errors (exit 1, "error: ..." and a caret excerpt).
# Run with PHALANX_BUILD set to a meson build directory.

bats_require_minimum_version 1.5.0

setup() {
    PHALANX="${PHALANX_BUILD:?set PHALANX_BUILD to the build directory}/src/bin/phalanx"
    TMP="$(mktemp -d)"
}

teardown() {
    rm -rf "$TMP"
}

@test "arithmetic follows Go: int stays int, / gives a float" {
    run "$PHALANX" expr '1 + 2 * 3'
    [ "$status" -eq 0 ]
    [ "$output" = "7" ]
    run "$PHALANX" expr '7 / 2'
    [ "$status" -eq 0 ]
    [ "$output" = "3.5" ]
    run "$PHALANX" expr '7 % 3'
    [ "$output" = "1" ]
}

@test "strings, booleans and nil print as JSON" {
    run "$PHALANX" expr '"ab" + "c"'
    [ "$status" -eq 0 ]
    [ "$output" = '"abc"' ]
    run "$PHALANX" expr '1 < 2 && "x" in ["x", "y"]'
    [ "$output" = "true" ]
    run "$PHALANX" expr 'nil'
    [ "$output" = "null" ]
}

@test "arrays and maps print on one line" {
    run "$PHALANX" expr 'map([1, 2, 3], {# * 2})'
    [ "$status" -eq 0 ]
    [ "$output" = "[2,4,6]" ]
    run "$PHALANX" expr '{"a": 1}'
    [ "$status" -eq 0 ]
    [ "$output" = '{"a":1}' ]
}

@test "CrowdSec helpers are available" {
    run "$PHALANX" expr 'Upper("abc") + Lower("DEF")'
    [ "$status" -eq 0 ]
    [ "$output" = '"ABCdef"' ]
    run "$PHALANX" expr 'IpInRange("192.168.1.5", "192.168.1.0/24")'
    [ "$output" = "true" ]
}

@test "--env binds top-level keys as plain variables" {
    echo '{"x": 40, "user": {"name": "admin", "tags": ["a", "b"]}}' > "$TMP/env.json"
    run "$PHALANX" expr --env "$TMP/env.json" 'x + 2'
    [ "$status" -eq 0 ]
    [ "$output" = "42" ]
    run "$PHALANX" expr --env "$TMP/env.json" 'user.name startsWith "ad" && len(user.tags) == 2'
    [ "$output" = "true" ]
    run "$PHALANX" expr -e "$TMP/env.json" 'user.missing'
    [ "$status" -eq 0 ]
    [ "$output" = "null" ]
}

@test "--env integers stay integers" {
    echo '{"n": 3, "f": 1.5}' > "$TMP/env.json"
    run "$PHALANX" expr --env "$TMP/env.json" 'n / 2'
    [ "$output" = "1.5" ]
    run "$PHALANX" expr --env "$TMP/env.json" 'n * 2'
    [ "$output" = "6" ]
    run "$PHALANX" expr --env "$TMP/env.json" 'f * 2'
    [ "$output" = "3" ]
}

@test "parser context: evt.Meta, evt.Line.Labels and missing keys" {
    cat > "$TMP/evt.json" <<'EOF'
{"evt": {"Meta": {"source_ip": "1.2.3.4"}, "Line": {"Labels": {"type": "syslog"}},
         "Parsed": {"program": "sshd"}}}
EOF
    run "$PHALANX" expr --context parser --env "$TMP/evt.json" 'evt.Meta.source_ip'
    [ "$status" -eq 0 ]
    [ "$output" = '"1.2.3.4"' ]
    run "$PHALANX" expr --context parser --env "$TMP/evt.json" \
        'evt.Line.Labels.type == "syslog" && evt.Parsed.program == "sshd"'
    [ "$output" = "true" ]
    run "$PHALANX" expr --context parser --env "$TMP/evt.json" 'evt.Meta.nope'
    [ "$output" = '""' ]
}

@test "parser context: evt.Time methods and Unmarshaled paths" {
    cat > "$TMP/evt.json" <<'EOF'
{"evt": {"Time": "2024-03-09T22:15:07Z",
         "Unmarshaled": {"cloudtrail": {"eventName": "ConsoleLogin"}}}}
EOF
    run "$PHALANX" expr -c parser -e "$TMP/evt.json" 'evt.Time.Hour()'
    [ "$status" -eq 0 ]
    [ "$output" = "22" ]
    run "$PHALANX" expr -c parser -e "$TMP/evt.json" 'evt.Unmarshaled.cloudtrail.eventName'
    [ "$output" = '"ConsoleLogin"' ]
    run "$PHALANX" expr -c parser -e "$TMP/evt.json" 'evt.Unmarshaled.other'
    [ "$output" = "null" ]
}

@test "a context without --env gets empty typed variables" {
    run "$PHALANX" expr --context scenario 'evt.Meta.source_ip == "" && evt.GetType() == "log"'
    [ "$status" -eq 0 ]
    [ "$output" = "true" ]
}

@test "condition context: queue and leaky" {
    cat > "$TMP/cond.json" <<'EOF'
{"queue": {"Queue": [{"Meta": {"exe": "/usr/bin/wget"}}, {"Meta": {"exe": "/bin/sh"}}]},
 "leaky": {"Total_count": 2}}
EOF
    run "$PHALANX" expr --context condition --env "$TMP/cond.json" 'queue.Queue[-1].Meta.exe'
    [ "$status" -eq 0 ]
    [ "$output" = '"/bin/sh"' ]
    run "$PHALANX" expr --context condition --env "$TMP/cond.json" \
        'any(queue.Queue, {.Meta.exe in ["/usr/bin/wget"]}) && leaky.Total_count == 2'
    [ "$output" = "true" ]
}

@test "profile context: Alert getters" {
    cat > "$TMP/alert.json" <<'EOF'
{"Alert": {"scenario": "crowdsecurity/ssh-bf", "remediation": true, "events_count": 6,
           "source": {"scope": "Ip", "value": "1.2.3.4"},
           "events": [{"timestamp": "2024-01-01T00:00:00Z", "meta": [{"key": "user", "value": "root"}]}]}}
EOF
    run "$PHALANX" expr --context profile --env "$TMP/alert.json" \
        'Alert.Remediation == true && Alert.GetScope() == "Ip"'
    [ "$status" -eq 0 ]
    [ "$output" = "true" ]
    run "$PHALANX" expr --context profile --env "$TMP/alert.json" 'Alert.GetEventsCount()'
    [ "$output" = "6" ]
    run "$PHALANX" expr --context profile --env "$TMP/alert.json" 'Alert.Events[0].GetMeta("user")'
    [ "$output" = '"root"' ]
}

@test "hubtest_scenario context: results[0].Overflow" {
    cat > "$TMP/res.json" <<'EOF'
{"results": [{"Type": 1, "Overflow": {"Sources": {"1.2.3.4": {"scope": "Ip", "value": "1.2.3.4"}},
  "Alert": {"scenario": "crowdsecurity/ssh-bf",
            "events": [{"meta": [{"key": "datasource_path", "value": "/x/ssh-bf.log"}]}]}}}]}
EOF
    run "$PHALANX" expr --context hubtest_scenario --env "$TMP/res.json" \
        '"1.2.3.4" in results[0].Overflow.GetSources()'
    [ "$status" -eq 0 ]
    [ "$output" = "true" ]
    run "$PHALANX" expr --context hubtest_scenario --env "$TMP/res.json" \
        'basename(results[0].Overflow.Alert.Events[0].GetMeta("datasource_path"))'
    [ "$output" = '"ssh-bf.log"' ]
}

@test "hubtest_parser context: results[stage][node][i].Evt" {
    cat > "$TMP/res.json" <<'EOF'
{"results": {"s01-parse": {"crowdsecurity/sshd-logs": [{"Idx": 0, "Success": true,
  "Evt": {"Parsed": {"sshd_client_ip": "1.2.3.4"}}}]}}}
EOF
    run "$PHALANX" expr --context hubtest_parser --env "$TMP/res.json" \
        'results["s01-parse"]["crowdsecurity/sshd-logs"][0].Evt.Parsed["sshd_client_ip"] == "1.2.3.4"'
    [ "$status" -eq 0 ]
    [ "$output" = "true" ]
    run "$PHALANX" expr --context hubtest_parser --env "$TMP/res.json" 'len(results["s02-enrich"]["x"])'
    [ "$output" = "0" ]
}

@test "compile error: exit 1, message and caret on stderr, nothing on stdout" {
    run --separate-stderr "$PHALANX" expr '1 +'
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ "$stderr" == error:* ]]
    [[ "$stderr" == *"^"* ]]
}

@test "unknown variable is a compile error" {
    run --separate-stderr "$PHALANX" expr 'foo + 1'
    [ "$status" -eq 1 ]
    [[ "$stderr" == error:* ]]
    [[ "$stderr" == *foo* ]]
}

@test "unknown field of a typed variable is a compile error with a caret" {
    run --separate-stderr "$PHALANX" expr --context parser 'evt.Nope == "x"'
    [ "$status" -eq 1 ]
    [[ "$stderr" == error:* ]]
    [[ "$stderr" == *Nope* ]]
    [[ "$stderr" == *"^"* ]]
}

@test "variable of another context is a compile error" {
    run --separate-stderr "$PHALANX" expr --context parser 'queue.Queue'
    [ "$status" -eq 1 ]
    [[ "$stderr" == error:* ]]
}

@test "run-time error: exit 1 with error on stderr" {
    echo '{"a": [1, 2]}' > "$TMP/env.json"
    run --separate-stderr "$PHALANX" expr --env "$TMP/env.json" 'a[5]'
    [ "$status" -eq 1 ]
    [ -z "$output" ]
    [[ "$stderr" == error:* ]]
}

@test "invalid env JSON names the file and position" {
    echo '{"a": 1,' > "$TMP/bad.json"
    run --separate-stderr "$PHALANX" expr --env "$TMP/bad.json" 'a'
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"bad.json:"* ]]
}

@test "missing env file is reported" {
    run --separate-stderr "$PHALANX" expr --env "$TMP/none.json" '1'
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"none.json"* ]]
}

@test "env key that is not a context variable is rejected" {
    echo '{"Alert": {}}' > "$TMP/env.json"
    run --separate-stderr "$PHALANX" expr --context parser --env "$TMP/env.json" 'true'
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"not a variable of the parser context"* ]]
}

@test "unknown field in a context env is rejected with its path" {
    echo '{"evt": {"Metaa": {}}}' > "$TMP/env.json"
    run --separate-stderr "$PHALANX" expr --context parser --env "$TMP/env.json" 'true'
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"Event.Metaa: unknown field"* ]]
}

@test "unknown context and unknown flag are usage errors" {
    run --separate-stderr "$PHALANX" expr --context nope '1'
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"unknown context"* ]]
    run --separate-stderr "$PHALANX" expr --bogus '1'
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"unknown flag"* ]]
}

@test "expression argument count is checked" {
    run --separate-stderr "$PHALANX" expr
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"exactly one EXPRESSION"* ]]
    run --separate-stderr "$PHALANX" expr '1' '2'
    [ "$status" -eq 1 ]
}

@test "-- lets an expression start with a minus" {
    run "$PHALANX" expr -- '-1 + 3'
    [ "$status" -eq 0 ]
    [ "$output" = "2" ]
}

@test "--disasm prints the program before the result" {
    run "$PHALANX" expr --disasm '40 + 2'
    [ "$status" -eq 0 ]
    [ "${lines[-1]}" = "42" ]
    [ "${#lines[@]}" -gt 1 ]
}

@test "help and version" {
    run "$PHALANX" expr --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"Usage:"* ]]
    [[ "$output" == *"--context"* ]]
    run "$PHALANX" version
    [ "$status" -eq 0 ]
    [[ "$output" == version:* ]]
    run "$PHALANX" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"Available Commands:"* ]]
    run --separate-stderr "$PHALANX" nosuchcommand
    [ "$status" -eq 1 ]
    [[ "$stderr" == *'unknown command "nosuchcommand"'* ]]
}

@test "phalanxd -version, -h and -t" {
    PHALANXD="${PHALANX_BUILD}/src/bin/phalanxd"
    run "$PHALANXD" -version
    [ "$status" -eq 0 ]
    [[ "$output" == version:* ]]
    run "$PHALANXD" -h
    [ "$status" -eq 0 ]
    [[ "$output" == *"Usage of phalanxd"* ]]
    printf 'common:\n  log_level: info\napi:\n  server:\n    listen_uri: 127.0.0.1:8080\n' > "$TMP/ok.yaml"
    run "$PHALANXD" -c "$TMP/ok.yaml" -t
    [ "$status" -eq 0 ]
    printf 'common:\n  log_level: info\n  bad: [unclosed\n' > "$TMP/bad.yaml"
    run --separate-stderr "$PHALANXD" -c "$TMP/bad.yaml" -t
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"bad.yaml:"* ]]
    printf 'common: {}\ncommonz: {}\n' > "$TMP/typo.yaml"
    run --separate-stderr "$PHALANXD" -c="$TMP/typo.yaml" -t
    [ "$status" -eq 1 ]
    [[ "$stderr" == *"typo.yaml:2: unknown section 'commonz'"* ]]
    run --separate-stderr "$PHALANXD" -nosuchflag
    [ "$status" -eq 2 ]
    [[ "$stderr" == *"flag provided but not defined: -nosuchflag"* ]]
}
